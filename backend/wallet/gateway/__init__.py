"""The payment gateway seam: card and bank tokens, charges, ACH debits, payouts, callbacks."""
