-- The source stream of the README walk-through: page views, keyed by user, with event time from `ts`.
CREATE STREAM pageviews (
  user_id VARCHAR KEY,
  url     VARCHAR,
  region  VARCHAR,
  view_ms BIGINT,
  ts      BIGINT
) WITH (kafka_topic='pageviews', value_format='JSON', timestamp='ts');
