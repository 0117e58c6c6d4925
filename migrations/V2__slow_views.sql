-- A persistent query: page views slower than a second, re-keyed by region, with computed columns.
CREATE STREAM slow_views AS
  SELECT region, user_id, UCASE(url) AS page, view_ms / 1000.0 AS seconds
  FROM pageviews
  WHERE view_ms > 1000
  PARTITION BY region;
