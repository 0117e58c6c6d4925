-- One pgbench transaction is one pull query: a key lookup on a materialized aggregate table, planned by DataFusion
-- and sent through the extended protocol (Parse/Bind/Execute with a parameter).
\set r random(0, 9)
SELECT views FROM pageviews_per_region WHERE region = 'r' || :r;
