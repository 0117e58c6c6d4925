//! Per-client properties (`SET`/`UNSET`, REST `streamsProperties`).

use std::collections::BTreeMap;

/// Properties in effect for one client: a REST request, or a Postgres connection.
#[derive(Debug, Clone, Default)]
pub struct Session {
    pub properties: BTreeMap<String, String>,
}

impl Session {
    pub fn with_properties(properties: BTreeMap<String, String>) -> Self {
        Session { properties }
    }

    /// The property's value, accepting ksqlDB's prefixed spellings (`ksql.streams.auto.offset.reset`).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.properties
            .get(name)
            .or_else(|| self.properties.get(&format!("ksql.streams.{name}")))
            .or_else(|| self.properties.get(&format!("streams.{name}")))
            .map(String::as_str)
    }
}
