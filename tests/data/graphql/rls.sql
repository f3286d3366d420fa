-- Row-level security for the seed (tests/graphql): a user sees the customers they own and
-- those customers' orders. After seed.sql.
ALTER TABLE customers ENABLE ROW LEVEL SECURITY;
ALTER TABLE orders ENABLE ROW LEVEL SECURITY;
CREATE POLICY own ON customers FOR SELECT TO authenticated USING (owner_id = auth.uid());
CREATE POLICY own ON orders FOR SELECT TO authenticated
  USING (customer_id IN (SELECT id FROM customers));
