//! The Postgres types Weir's values travel as: Arrow type → Postgres type OID and type modifier, and the
//! built-in types `pg_type` lists.
//!
//! | Weir (Arrow) | Postgres |
//! |---|---|
//! | BOOLEAN | `bool` |
//! | INT (and smaller integers) | `int4` (`int2` for 8/16-bit) |
//! | BIGINT | `int8` |
//! | DOUBLE | `float8` (`float4` for 32-bit floats) |
//! | DECIMAL(p, s) | `numeric(p, s)` |
//! | STRING | `text` |
//! | BYTES | `bytea` |
//! | TIMESTAMP | `timestamp` (`timestamptz` when the Arrow type has a zone) |
//! | DATE / TIME | `date` / `time` |
//! | ARRAY of a scalar | the matching array type (`int4[]`, `text[]`, ...) |
//! | MAP, STRUCT, nested arrays | `json` |

use datafusion::arrow::datatypes::DataType;

/// One built-in Postgres type, as `pg_type` describes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PgType {
    pub oid: u32,
    /// `pg_type.typname`.
    pub name: &'static str,
    /// The name `format_type` prints.
    pub sql_name: &'static str,
    /// `typlen`: bytes, or -1 for variable length, -2 for C strings.
    pub len: i16,
    /// `typcategory`.
    pub category: char,
    /// The array type whose elements are this type (0 for none).
    pub array: u32,
    /// For array types, the element type (0 otherwise).
    pub element: u32,
}

macro_rules! t {
    ($oid:expr, $name:expr, $sql:expr, $len:expr, $cat:expr, $array:expr) => {
        PgType {
            oid: $oid,
            name: $name,
            sql_name: $sql,
            len: $len,
            category: $cat,
            array: $array,
            element: 0,
        }
    };
}

macro_rules! a {
    ($oid:expr, $name:expr, $sql:expr, $elem:expr) => {
        PgType {
            oid: $oid,
            name: $name,
            sql_name: $sql,
            len: -1,
            category: 'A',
            array: 0,
            element: $elem,
        }
    };
}

pub const BOOL: u32 = 16;
pub const BYTEA: u32 = 17;
pub const CHAR: u32 = 18;
pub const NAME: u32 = 19;
pub const INT8: u32 = 20;
pub const INT2: u32 = 21;
pub const INT4: u32 = 23;
pub const TEXT: u32 = 25;
pub const OID: u32 = 26;
pub const JSON: u32 = 114;
pub const FLOAT4: u32 = 700;
pub const FLOAT8: u32 = 701;
pub const UNKNOWN: u32 = 705;
pub const VARCHAR: u32 = 1043;
pub const DATE: u32 = 1082;
pub const TIME: u32 = 1083;
pub const TIMESTAMP: u32 = 1114;
pub const TIMESTAMPTZ: u32 = 1184;
pub const INTERVAL: u32 = 1186;
pub const NUMERIC: u32 = 1700;
pub const JSONB: u32 = 3802;

/// Every type Weir's catalog lists, scalars first.
pub const TYPES: &[PgType] = &[
    t!(BOOL, "bool", "boolean", 1, 'B', 1000),
    t!(BYTEA, "bytea", "bytea", -1, 'U', 1001),
    t!(CHAR, "char", "\"char\"", 1, 'Z', 1002),
    t!(NAME, "name", "name", 64, 'S', 1003),
    t!(INT8, "int8", "bigint", 8, 'N', 1016),
    t!(INT2, "int2", "smallint", 2, 'N', 1005),
    t!(INT4, "int4", "integer", 4, 'N', 1007),
    t!(24, "regproc", "regproc", 4, 'N', 1008),
    t!(TEXT, "text", "text", -1, 'S', 1009),
    t!(OID, "oid", "oid", 4, 'N', 1028),
    t!(JSON, "json", "json", -1, 'U', 199),
    t!(FLOAT4, "float4", "real", 4, 'N', 1021),
    t!(FLOAT8, "float8", "double precision", 8, 'N', 1022),
    t!(UNKNOWN, "unknown", "unknown", -2, 'X', 0),
    t!(1042, "bpchar", "character", -1, 'S', 1014),
    t!(VARCHAR, "varchar", "character varying", -1, 'S', 1015),
    t!(DATE, "date", "date", 4, 'D', 1182),
    t!(TIME, "time", "time without time zone", 8, 'D', 1183),
    t!(TIMESTAMP, "timestamp", "timestamp without time zone", 8, 'D', 1115),
    t!(TIMESTAMPTZ, "timestamptz", "timestamp with time zone", 8, 'D', 1185),
    t!(INTERVAL, "interval", "interval", 16, 'T', 1187),
    t!(NUMERIC, "numeric", "numeric", -1, 'N', 1231),
    t!(2205, "regclass", "regclass", 4, 'N', 2210),
    t!(2206, "regtype", "regtype", 4, 'N', 2211),
    t!(2950, "uuid", "uuid", 16, 'U', 2951),
    t!(JSONB, "jsonb", "jsonb", -1, 'U', 3807),
    t!(2278, "void", "void", 4, 'P', 0),
    a!(1000, "_bool", "boolean[]", BOOL),
    a!(1001, "_bytea", "bytea[]", BYTEA),
    a!(1002, "_char", "\"char\"[]", CHAR),
    a!(1003, "_name", "name[]", NAME),
    a!(1005, "_int2", "smallint[]", INT2),
    a!(1007, "_int4", "integer[]", INT4),
    a!(1008, "_regproc", "regproc[]", 24),
    a!(1009, "_text", "text[]", TEXT),
    a!(1014, "_bpchar", "character[]", 1042),
    a!(1015, "_varchar", "character varying[]", VARCHAR),
    a!(1016, "_int8", "bigint[]", INT8),
    a!(1021, "_float4", "real[]", FLOAT4),
    a!(1022, "_float8", "double precision[]", FLOAT8),
    a!(1028, "_oid", "oid[]", OID),
    a!(1115, "_timestamp", "timestamp without time zone[]", TIMESTAMP),
    a!(1182, "_date", "date[]", DATE),
    a!(1183, "_time", "time without time zone[]", TIME),
    a!(1185, "_timestamptz", "timestamp with time zone[]", TIMESTAMPTZ),
    a!(1187, "_interval", "interval[]", INTERVAL),
    a!(1231, "_numeric", "numeric[]", NUMERIC),
    a!(199, "_json", "json[]", JSON),
    a!(2210, "_regclass", "regclass[]", 2205),
    a!(2211, "_regtype", "regtype[]", 2206),
    a!(2951, "_uuid", "uuid[]", 2950),
    a!(3807, "_jsonb", "jsonb[]", JSONB),
];

/// The type with this OID.
pub fn by_oid(oid: u32) -> Option<&'static PgType> {
    TYPES.iter().find(|t| t.oid == oid)
}

/// The type a name denotes: its `typname` (`int4`), its SQL name (`integer`) or a common alias (`int`,
/// `varchar`), case-insensitively, with an optional `pg_catalog.` prefix and `[]` suffix.
pub fn by_name(name: &str) -> Option<&'static PgType> {
    let lower = name.trim().to_ascii_lowercase();
    let lower = lower.strip_prefix("pg_catalog.").unwrap_or(&lower);
    if let Some(elem) = lower.strip_suffix("[]") {
        let e = by_name(elem)?;
        return by_oid(e.array);
    }
    let alias = match lower {
        "int" | "integer" => "int4",
        "smallint" => "int2",
        "bigint" => "int8",
        "real" => "float4",
        "double precision" | "double" => "float8",
        "boolean" => "bool",
        "decimal" => "numeric",
        "character varying" | "string" => "varchar",
        "character" => "bpchar",
        "timestamp without time zone" => "timestamp",
        "timestamp with time zone" => "timestamptz",
        "time without time zone" => "time",
        other => other,
    };
    TYPES.iter().find(|t| t.name == alias || t.sql_name == alias)
}

/// The Postgres type (OID and type modifier, -1 for none) values of an Arrow type are sent as.
pub fn pg_type_of(dt: &DataType) -> (u32, i32) {
    match dt {
        DataType::Boolean => (BOOL, -1),
        DataType::Int8 | DataType::Int16 | DataType::UInt8 => (INT2, -1),
        DataType::Int32 | DataType::UInt16 => (INT4, -1),
        DataType::Int64 | DataType::UInt32 => (INT8, -1),
        DataType::UInt64 => (NUMERIC, -1),
        DataType::Float16 | DataType::Float32 => (FLOAT4, -1),
        DataType::Float64 => (FLOAT8, -1),
        DataType::Decimal32(p, s)
        | DataType::Decimal64(p, s)
        | DataType::Decimal128(p, s)
        | DataType::Decimal256(p, s) => (NUMERIC, numeric_typmod(*p, *s)),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Null => (TEXT, -1),
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView | DataType::FixedSizeBinary(_) => (BYTEA, -1),
        DataType::Timestamp(_, None) => (TIMESTAMP, -1),
        DataType::Timestamp(_, Some(_)) => (TIMESTAMPTZ, -1),
        DataType::Date32 | DataType::Date64 => (DATE, -1),
        DataType::Time32(_) | DataType::Time64(_) => (TIME, -1),
        DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _) | DataType::ListView(f) => {
            match array_element_oid(f.data_type()) {
                Some(elem) => (by_oid(elem).map(|t| t.array).unwrap_or(JSON), -1),
                None => (JSON, -1),
            }
        }
        DataType::Struct(_) | DataType::Map(_, _) => (JSON, -1),
        DataType::Dictionary(_, v) => pg_type_of(v),
        _ => (TEXT, -1),
    }
}

/// The element type of a Postgres array for an Arrow list element, when the element is a scalar.
pub fn array_element_oid(dt: &DataType) -> Option<u32> {
    let (oid, _) = pg_type_of(dt);
    match dt {
        DataType::List(_)
        | DataType::LargeList(_)
        | DataType::FixedSizeList(..)
        | DataType::ListView(_)
        | DataType::Struct(_)
        | DataType::Map(..)
        | DataType::UInt64 => None,
        _ => by_oid(oid).filter(|t| t.array != 0).map(|t| t.oid),
    }
}

/// `numeric(p, s)`'s type modifier, as Postgres encodes it.
pub fn numeric_typmod(precision: u8, scale: i8) -> i32 {
    ((i32::from(precision) << 16) | (i32::from(scale.max(0)) & 0xffff)) + 4
}

/// What `format_type(oid, typmod)` prints: `integer`, `numeric(10,2)`, `text[]`.
pub fn format_type(oid: u32, typmod: Option<i32>) -> Option<String> {
    let t = by_oid(oid)?;
    let typmod = typmod.filter(|m| *m >= 4);
    Some(match (t.oid, typmod) {
        (NUMERIC, Some(m)) => {
            let m = m - 4;
            format!("numeric({},{})", (m >> 16) & 0xffff, m & 0xffff)
        }
        (VARCHAR, Some(m)) => format!("character varying({})", m - 4),
        (1042, Some(m)) => format!("character({})", m - 4),
        _ => t.sql_name.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::datatypes::{Field, Fields, TimeUnit};
    use std::sync::Arc;

    #[test]
    fn weir_types_map_to_postgres_types() {
        use crate::types::SqlType;
        let cases = [
            (SqlType::Boolean, "boolean"),
            (SqlType::Int, "integer"),
            (SqlType::BigInt, "bigint"),
            (SqlType::Double, "double precision"),
            (SqlType::decimal(10, 2).unwrap(), "numeric(10,2)"),
            (SqlType::String, "text"),
            (SqlType::Bytes, "bytea"),
            (SqlType::Timestamp, "timestamp without time zone"),
            (SqlType::Date, "date"),
            (SqlType::Time, "time without time zone"),
            (SqlType::Array(Box::new(SqlType::BigInt)), "bigint[]"),
            (SqlType::Array(Box::new(SqlType::Array(Box::new(SqlType::Int)))), "json"),
            (SqlType::Map(Box::new(SqlType::String), Box::new(SqlType::Int)), "json"),
            (SqlType::Struct(vec![("A".into(), SqlType::Int)]), "json"),
        ];
        for (ty, expected) in cases {
            let (oid, typmod) = pg_type_of(&ty.to_arrow());
            assert_eq!(format_type(oid, Some(typmod)).as_deref(), Some(expected), "{ty}");
        }
    }

    #[test]
    fn zones_make_timestamptz() {
        let dt = DataType::Timestamp(TimeUnit::Nanosecond, Some(Arc::from("+00:00")));
        assert_eq!(pg_type_of(&dt).0, TIMESTAMPTZ);
        let s = DataType::Struct(Fields::from(vec![Field::new("a", DataType::Int32, true)]));
        assert_eq!(pg_type_of(&s).0, JSON);
    }

    #[test]
    fn names_resolve_with_aliases() {
        assert_eq!(by_name("integer").map(|t| t.oid), Some(INT4));
        assert_eq!(by_name("pg_catalog.int8").map(|t| t.oid), Some(INT8));
        assert_eq!(by_name("text[]").map(|t| t.oid), Some(1009));
        assert_eq!(by_name("VARCHAR").map(|t| t.oid), Some(VARCHAR));
        assert!(by_name("hstore").is_none());
    }
}
