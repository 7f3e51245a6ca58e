-- `removeMerchantStaff` deletes the staff row, but the app's role was given DELETE only
-- on the tables the code deleted from when 0026b was written: every removal failed with
-- "permission denied" (an owner could not take a cashier off the staff).
GRANT DELETE ON merchant_staff TO wallet_app;
