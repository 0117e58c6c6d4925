-- An example pipeline over orders: send it to a server with
--   curl -s localhost:8088/ksql --data-binary @- <<< "{\"ksql\": $(jq -Rs . < sql/orders.sql)}"
-- or paste the statements into any ksqlDB client.

-- Orders as they arrive, keyed by order id; event time comes from the ORDER_TS column.
CREATE STREAM orders (
  order_id BIGINT KEY,
  customer VARCHAR,
  item     STRUCT<sku VARCHAR, qty INT, unit_price DECIMAL(10, 2)>,
  tags     ARRAY<VARCHAR>,
  order_ts BIGINT
) WITH (kafka_topic='orders', value_format='JSON', partitions=2, timestamp='order_ts');

-- Large orders, with the line total computed in DECIMAL, re-keyed by customer.
CREATE STREAM large_orders AS
  SELECT customer, order_id, item->sku AS sku, item->qty * item->unit_price AS total, tags[1] AS first_tag
  FROM orders
  WHERE item->qty * item->unit_price >= 100
  PARTITION BY customer;

-- The same orders as DELIMITED text for a downstream system.
CREATE STREAM large_orders_csv WITH (value_format='DELIMITED', key_format='KAFKA') AS
  SELECT customer, order_id, sku, total FROM large_orders;
