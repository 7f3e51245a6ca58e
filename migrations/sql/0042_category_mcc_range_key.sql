-- Every table has a primary key, so every table can have a Piccolo Table class (Piccolo
-- needs one) and rows can be addressed. A range is named by its bounds.
ALTER TABLE category_mcc_range ADD PRIMARY KEY (low, high);
