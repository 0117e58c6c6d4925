//! The run-time parameters Weir reports to Postgres clients, with their values. They are fixed: Weir sends text
//! in UTF-8, dates in ISO style and times in UTC whatever a client sets; `SET` is accepted and remembered per
//! connection so that `SHOW` answers what the client set.

/// Parameter names (as Postgres spells them) and values.
pub const DEFAULTS: &[(&str, &str)] = &[
    ("server_version", "16.6"),
    ("server_version_num", "160006"),
    ("server_encoding", "UTF8"),
    ("client_encoding", "UTF8"),
    ("DateStyle", "ISO, MDY"),
    ("IntervalStyle", "postgres"),
    ("TimeZone", "UTC"),
    ("integer_datetimes", "on"),
    ("standard_conforming_strings", "on"),
    ("search_path", "\"$user\", public"),
    ("transaction_isolation", "read committed"),
    ("default_transaction_isolation", "read committed"),
    ("transaction_read_only", "off"),
    ("default_transaction_read_only", "off"),
    ("max_identifier_length", "63"),
    ("lc_collate", "C.UTF-8"),
    ("lc_ctype", "C.UTF-8"),
    ("lc_messages", "C"),
    ("lc_monetary", "C"),
    ("lc_numeric", "C"),
    ("lc_time", "C"),
    ("is_superuser", "on"),
    ("application_name", ""),
    ("extra_float_digits", "1"),
    ("statement_timeout", "0"),
    ("lock_timeout", "0"),
    ("idle_in_transaction_session_timeout", "0"),
    ("bytea_output", "hex"),
    ("client_min_messages", "notice"),
    ("escape_string_warning", "on"),
    ("in_hot_standby", "off"),
    ("row_security", "on"),
    ("synchronous_commit", "on"),
    ("max_connections", "100"),
    ("block_size", "8192"),
    ("default_text_search_config", "pg_catalog.english"),
];

/// The default of a parameter, by name in any case.
pub fn default_of(name: &str) -> Option<(&'static str, &'static str)> {
    DEFAULTS
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(n, v)| (*n, *v))
}
