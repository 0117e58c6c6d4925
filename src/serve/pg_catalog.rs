//! The `pg_catalog` and `information_schema` tables, built from Weir's catalog as in-memory DataFusion tables.
//!
//! Written for Weir rather than taken from the `datafusion-pg-catalog` crate: that crate pins pgwire 0.41 (through
//! `arrow-pg`), so it would compile a second pgwire next to ours, and it models a generic DataFusion catalog, while
//! Weir's relations carry ksqlDB facts (streams vs tables, key columns, topics and formats) that its tables have no
//! place for. The tables hold what psql's `\d` family, psycopg, asyncpg and SQLAlchemy read; the ones that can
//! never have rows in Weir (indexes, constraints, triggers, ...) exist with their columns and no rows, and are
//! listed in [`ALWAYS_EMPTY`] so the query rewriter can answer subqueries over them without running them.
//!
//! OID-valued columns are `BIGINT` (Arrow `Int64`), which compares and joins with every integer type DataFusion
//! coerces to.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, new_null_array};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::catalog::TableProvider;
use datafusion::datasource::MemTable;
use datafusion::error::Result as DfResult;
use datafusion::scalar::ScalarValue;

use super::pg_types::{self, TYPES};
use super::relations::{
    INFORMATION_SCHEMA_NAMESPACE, OWNER_NAME, OWNER_OID, PG_CATALOG_NAMESPACE, PG_CLASS_OID, PUBLIC_NAMESPACE, Relation,
};

/// A column type of a catalog table.
#[derive(Debug, Clone, Copy)]
enum C {
    /// An OID or another 64-bit integer.
    I64,
    I32,
    I16,
    F32,
    Text,
    /// Postgres' one-byte `"char"` (`relkind`, `typtype`, ...): text that clients decode as a single byte.
    Char,
    Bool,
    /// `text[]`-like columns (`relacl`, `reloptions`, ...).
    TextArr,
    /// `int2[]`-like columns (`conkey`, ...).
    I16Arr,
    /// `oid[]`-like columns.
    I64Arr,
}

impl C {
    fn data_type(self) -> DataType {
        let list = |dt: DataType| DataType::List(Arc::new(Field::new("item", dt, true)));
        match self {
            C::I64 => DataType::Int64,
            C::I32 => DataType::Int32,
            C::I16 => DataType::Int16,
            C::F32 => DataType::Float32,
            C::Text | C::Char => DataType::Utf8,
            C::Bool => DataType::Boolean,
            C::TextArr => list(DataType::Utf8),
            C::I16Arr => list(DataType::Int16),
            C::I64Arr => list(DataType::Int64),
        }
    }
}

type Columns = &'static [(&'static str, C)];

/// Tables that never have rows in Weir. Subqueries that read only these return nothing.
pub const ALWAYS_EMPTY: &[&str] = &[
    "pg_attrdef",
    "pg_auth_members",
    "pg_constraint",
    "pg_depend",
    "pg_enum",
    "pg_event_trigger",
    "pg_extension",
    "pg_foreign_table",
    "pg_index",
    "pg_indexes",
    "pg_inherits",
    "pg_matviews",
    "pg_opclass",
    "pg_operator",
    "pg_cast",
    "pg_foreign_server",
    "pg_foreign_data_wrapper",
    "pg_aggregate",
    "pg_locks",
    "pg_prepared_xacts",
    "pg_partitioned_table",
    "pg_policy",
    "pg_proc",
    "pg_publication",
    "pg_publication_namespace",
    "pg_publication_rel",
    "pg_range",
    "pg_rewrite",
    "pg_sequence",
    "pg_shdescription",
    "pg_stat_activity",
    "pg_statistic_ext",
    "pg_trigger",
    "key_column_usage",
    "referential_constraints",
    "routines",
    "table_constraints",
];

const PG_NAMESPACE: Columns = &[
    ("oid", C::I64),
    ("nspname", C::Text),
    ("nspowner", C::I64),
    ("nspacl", C::TextArr),
];

const PG_CLASS: Columns = &[
    ("oid", C::I64),
    ("relname", C::Text),
    ("relnamespace", C::I64),
    ("reltype", C::I64),
    ("reloftype", C::I64),
    ("relowner", C::I64),
    ("relam", C::I64),
    ("relfilenode", C::I64),
    ("reltablespace", C::I64),
    ("relpages", C::I32),
    ("reltuples", C::F32),
    ("relallvisible", C::I32),
    ("reltoastrelid", C::I64),
    ("relhasindex", C::Bool),
    ("relisshared", C::Bool),
    ("relpersistence", C::Char),
    ("relkind", C::Char),
    ("relnatts", C::I16),
    ("relchecks", C::I16),
    ("relhasrules", C::Bool),
    ("relhastriggers", C::Bool),
    ("relhassubclass", C::Bool),
    ("relrowsecurity", C::Bool),
    ("relforcerowsecurity", C::Bool),
    ("relispopulated", C::Bool),
    ("relreplident", C::Char),
    ("relispartition", C::Bool),
    ("relrewrite", C::I64),
    ("relfrozenxid", C::I64),
    ("relminmxid", C::I64),
    ("relacl", C::TextArr),
    ("reloptions", C::TextArr),
    ("relpartbound", C::Text),
];

const PG_ATTRIBUTE: Columns = &[
    ("attrelid", C::I64),
    ("attname", C::Text),
    ("atttypid", C::I64),
    ("attstattarget", C::I32),
    ("attlen", C::I16),
    ("attnum", C::I16),
    ("attndims", C::I32),
    ("attcacheoff", C::I32),
    ("atttypmod", C::I32),
    ("attbyval", C::Bool),
    ("attalign", C::Char),
    ("attstorage", C::Char),
    ("attcompression", C::Char),
    ("attnotnull", C::Bool),
    ("atthasdef", C::Bool),
    ("atthasmissing", C::Bool),
    ("attidentity", C::Char),
    ("attgenerated", C::Char),
    ("attisdropped", C::Bool),
    ("attislocal", C::Bool),
    ("attinhcount", C::I32),
    ("attcollation", C::I64),
    ("attacl", C::TextArr),
    ("attoptions", C::TextArr),
    ("attfdwoptions", C::TextArr),
    ("attmissingval", C::TextArr),
];

const PG_TYPE: Columns = &[
    ("oid", C::I64),
    ("typname", C::Text),
    ("typnamespace", C::I64),
    ("typowner", C::I64),
    ("typlen", C::I16),
    ("typbyval", C::Bool),
    ("typtype", C::Char),
    ("typcategory", C::Char),
    ("typispreferred", C::Bool),
    ("typisdefined", C::Bool),
    ("typdelim", C::Char),
    ("typrelid", C::I64),
    ("typsubscript", C::Text),
    ("typelem", C::I64),
    ("typarray", C::I64),
    ("typinput", C::Text),
    ("typoutput", C::Text),
    ("typreceive", C::Text),
    ("typsend", C::Text),
    ("typmodin", C::Text),
    ("typmodout", C::Text),
    ("typanalyze", C::Text),
    ("typalign", C::Char),
    ("typstorage", C::Char),
    ("typnotnull", C::Bool),
    ("typbasetype", C::I64),
    ("typtypmod", C::I32),
    ("typndims", C::I32),
    ("typcollation", C::I64),
    ("typdefaultbin", C::Text),
    ("typdefault", C::Text),
    ("typacl", C::TextArr),
];

const PG_DATABASE: Columns = &[
    ("oid", C::I64),
    ("datname", C::Text),
    ("datdba", C::I64),
    ("encoding", C::I32),
    ("datlocprovider", C::Char),
    ("datistemplate", C::Bool),
    ("datallowconn", C::Bool),
    ("datconnlimit", C::I32),
    ("datfrozenxid", C::I64),
    ("datminmxid", C::I64),
    ("dattablespace", C::I64),
    ("datcollate", C::Text),
    ("datctype", C::Text),
    ("daticulocale", C::Text),
    ("daticurules", C::Text),
    ("datcollversion", C::Text),
    ("datacl", C::TextArr),
];

const PG_ROLES: Columns = &[
    ("rolname", C::Text),
    ("rolsuper", C::Bool),
    ("rolinherit", C::Bool),
    ("rolcreaterole", C::Bool),
    ("rolcreatedb", C::Bool),
    ("rolcanlogin", C::Bool),
    ("rolreplication", C::Bool),
    ("rolconnlimit", C::I32),
    ("rolpassword", C::Text),
    ("rolvaliduntil", C::Text),
    ("rolbypassrls", C::Bool),
    ("rolconfig", C::TextArr),
    ("oid", C::I64),
];

const PG_USER: Columns = &[
    ("usename", C::Text),
    ("usesysid", C::I64),
    ("usecreatedb", C::Bool),
    ("usesuper", C::Bool),
    ("userepl", C::Bool),
    ("usebypassrls", C::Bool),
    ("passwd", C::Text),
    ("valuntil", C::Text),
    ("useconfig", C::TextArr),
];

const PG_AM: Columns = &[
    ("oid", C::I64),
    ("amname", C::Text),
    ("amhandler", C::Text),
    ("amtype", C::Char),
];

const PG_DESCRIPTION: Columns = &[
    ("objoid", C::I64),
    ("classoid", C::I64),
    ("objsubid", C::I32),
    ("description", C::Text),
];

const PG_COLLATION: Columns = &[
    ("oid", C::I64),
    ("collname", C::Text),
    ("collnamespace", C::I64),
    ("collowner", C::I64),
    ("collprovider", C::Char),
    ("collisdeterministic", C::Bool),
    ("collencoding", C::I32),
    ("collcollate", C::Text),
    ("collctype", C::Text),
];

const PG_TABLESPACE: Columns = &[
    ("oid", C::I64),
    ("spcname", C::Text),
    ("spcowner", C::I64),
    ("spcacl", C::TextArr),
    ("spcoptions", C::TextArr),
];

const PG_SETTINGS: Columns = &[
    ("name", C::Text),
    ("setting", C::Text),
    ("unit", C::Text),
    ("category", C::Text),
    ("short_desc", C::Text),
    ("extra_desc", C::Text),
    ("context", C::Text),
    ("vartype", C::Text),
    ("source", C::Text),
    ("min_val", C::Text),
    ("max_val", C::Text),
    ("enumvals", C::TextArr),
    ("boot_val", C::Text),
    ("reset_val", C::Text),
    ("sourcefile", C::Text),
    ("sourceline", C::I32),
    ("pending_restart", C::Bool),
];

const PG_VIEWS: Columns = &[
    ("schemaname", C::Text),
    ("viewname", C::Text),
    ("viewowner", C::Text),
    ("definition", C::Text),
];

const PG_TABLES: Columns = &[
    ("schemaname", C::Text),
    ("tablename", C::Text),
    ("tableowner", C::Text),
    ("tablespace", C::Text),
    ("hasindexes", C::Bool),
    ("hasrules", C::Bool),
    ("hastriggers", C::Bool),
    ("rowsecurity", C::Bool),
];

/// Tables that are always empty, with their columns.
const EMPTY_TABLES: &[(&str, Columns)] = &[
    (
        "pg_attrdef",
        &[
            ("oid", C::I64),
            ("adrelid", C::I64),
            ("adnum", C::I16),
            ("adbin", C::Text),
        ],
    ),
    (
        "pg_auth_members",
        &[
            ("roleid", C::I64),
            ("member", C::I64),
            ("grantor", C::I64),
            ("admin_option", C::Bool),
        ],
    ),
    (
        "pg_constraint",
        &[
            ("oid", C::I64),
            ("conname", C::Text),
            ("connamespace", C::I64),
            ("contype", C::Char),
            ("condeferrable", C::Bool),
            ("condeferred", C::Bool),
            ("convalidated", C::Bool),
            ("conrelid", C::I64),
            ("contypid", C::I64),
            ("conindid", C::I64),
            ("conparentid", C::I64),
            ("confrelid", C::I64),
            ("confupdtype", C::Char),
            ("confdeltype", C::Char),
            ("confmatchtype", C::Char),
            ("conislocal", C::Bool),
            ("coninhcount", C::I32),
            ("connoinherit", C::Bool),
            ("conkey", C::I16Arr),
            ("confkey", C::I16Arr),
            ("conpfeqop", C::I64Arr),
            ("conppeqop", C::I64Arr),
            ("conffeqop", C::I64Arr),
            ("conexclop", C::I64Arr),
            ("conbin", C::Text),
        ],
    ),
    (
        "pg_depend",
        &[
            ("classid", C::I64),
            ("objid", C::I64),
            ("objsubid", C::I32),
            ("refclassid", C::I64),
            ("refobjid", C::I64),
            ("refobjsubid", C::I32),
            ("deptype", C::Char),
        ],
    ),
    (
        "pg_enum",
        &[
            ("oid", C::I64),
            ("enumtypid", C::I64),
            ("enumsortorder", C::F32),
            ("enumlabel", C::Text),
        ],
    ),
    (
        "pg_event_trigger",
        &[
            ("oid", C::I64),
            ("evtname", C::Text),
            ("evtevent", C::Text),
            ("evtenabled", C::Char),
        ],
    ),
    (
        "pg_extension",
        &[
            ("oid", C::I64),
            ("extname", C::Text),
            ("extowner", C::I64),
            ("extnamespace", C::I64),
            ("extrelocatable", C::Bool),
            ("extversion", C::Text),
        ],
    ),
    (
        "pg_foreign_table",
        &[("ftrelid", C::I64), ("ftserver", C::I64), ("ftoptions", C::TextArr)],
    ),
    (
        "pg_index",
        &[
            ("indexrelid", C::I64),
            ("indrelid", C::I64),
            ("indnatts", C::I16),
            ("indnkeyatts", C::I16),
            ("indisunique", C::Bool),
            ("indnullsnotdistinct", C::Bool),
            ("indisprimary", C::Bool),
            ("indisexclusion", C::Bool),
            ("indimmediate", C::Bool),
            ("indisclustered", C::Bool),
            ("indisvalid", C::Bool),
            ("indcheckxmin", C::Bool),
            ("indisready", C::Bool),
            ("indislive", C::Bool),
            ("indisreplident", C::Bool),
            ("indkey", C::I16Arr),
            ("indcollation", C::I64Arr),
            ("indclass", C::I64Arr),
            ("indoption", C::I16Arr),
            ("indexprs", C::Text),
            ("indpred", C::Text),
        ],
    ),
    (
        "pg_indexes",
        &[
            ("schemaname", C::Text),
            ("tablename", C::Text),
            ("indexname", C::Text),
            ("tablespace", C::Text),
            ("indexdef", C::Text),
        ],
    ),
    (
        "pg_inherits",
        &[
            ("inhrelid", C::I64),
            ("inhparent", C::I64),
            ("inhseqno", C::I32),
            ("inhdetachpending", C::Bool),
        ],
    ),
    (
        "pg_matviews",
        &[
            ("schemaname", C::Text),
            ("matviewname", C::Text),
            ("matviewowner", C::Text),
            ("tablespace", C::Text),
            ("hasindexes", C::Bool),
            ("ispopulated", C::Bool),
            ("definition", C::Text),
        ],
    ),
    (
        "pg_opclass",
        &[
            ("oid", C::I64),
            ("opcmethod", C::I64),
            ("opcname", C::Text),
            ("opcnamespace", C::I64),
            ("opcowner", C::I64),
            ("opcfamily", C::I64),
            ("opcintype", C::I64),
            ("opcdefault", C::Bool),
            ("opckeytype", C::I64),
        ],
    ),
    (
        "pg_operator",
        &[
            ("oid", C::I64),
            ("oprname", C::Text),
            ("oprnamespace", C::I64),
            ("oprowner", C::I64),
            ("oprkind", C::Char),
            ("oprleft", C::I64),
            ("oprright", C::I64),
            ("oprresult", C::I64),
            ("oprcode", C::Text),
        ],
    ),
    (
        "pg_cast",
        &[
            ("oid", C::I64),
            ("castsource", C::I64),
            ("casttarget", C::I64),
            ("castfunc", C::I64),
            ("castcontext", C::Char),
            ("castmethod", C::Char),
        ],
    ),
    (
        "pg_foreign_server",
        &[
            ("oid", C::I64),
            ("srvname", C::Text),
            ("srvowner", C::I64),
            ("srvfdw", C::I64),
        ],
    ),
    (
        "pg_foreign_data_wrapper",
        &[("oid", C::I64), ("fdwname", C::Text), ("fdwowner", C::I64)],
    ),
    (
        "pg_aggregate",
        &[
            ("aggfnoid", C::I64),
            ("aggkind", C::Char),
            ("aggtransfn", C::Text),
            ("aggfinalfn", C::Text),
        ],
    ),
    (
        "pg_locks",
        &[
            ("locktype", C::Text),
            ("database", C::I64),
            ("relation", C::I64),
            ("pid", C::I32),
            ("mode", C::Text),
            ("granted", C::Bool),
        ],
    ),
    (
        "pg_prepared_xacts",
        &[
            ("transaction", C::I64),
            ("gid", C::Text),
            ("owner", C::Text),
            ("database", C::Text),
        ],
    ),
    (
        "pg_partitioned_table",
        &[
            ("partrelid", C::I64),
            ("partstrat", C::Char),
            ("partnatts", C::I16),
            ("partdefid", C::I64),
            ("partattrs", C::I16Arr),
        ],
    ),
    (
        "pg_policy",
        &[
            ("oid", C::I64),
            ("polname", C::Text),
            ("polrelid", C::I64),
            ("polcmd", C::Char),
            ("polpermissive", C::Bool),
            ("polroles", C::I64Arr),
            ("polqual", C::Text),
            ("polwithcheck", C::Text),
        ],
    ),
    (
        "pg_proc",
        &[
            ("oid", C::I64),
            ("proname", C::Text),
            ("pronamespace", C::I64),
            ("proowner", C::I64),
            ("prolang", C::I64),
            ("prokind", C::Char),
            ("prorettype", C::I64),
            ("proargtypes", C::I64Arr),
            ("proretset", C::Bool),
            ("prosrc", C::Text),
        ],
    ),
    (
        "pg_publication",
        &[
            ("oid", C::I64),
            ("pubname", C::Text),
            ("pubowner", C::I64),
            ("puballtables", C::Bool),
            ("pubinsert", C::Bool),
            ("pubupdate", C::Bool),
            ("pubdelete", C::Bool),
            ("pubtruncate", C::Bool),
            ("pubviaroot", C::Bool),
        ],
    ),
    (
        "pg_publication_namespace",
        &[("oid", C::I64), ("pnpubid", C::I64), ("pnnspid", C::I64)],
    ),
    (
        "pg_publication_rel",
        &[
            ("oid", C::I64),
            ("prpubid", C::I64),
            ("prrelid", C::I64),
            ("prqual", C::Text),
            ("prattrs", C::I16Arr),
        ],
    ),
    (
        "pg_range",
        &[("rngtypid", C::I64), ("rngsubtype", C::I64), ("rngmultitypid", C::I64)],
    ),
    (
        "pg_rewrite",
        &[
            ("oid", C::I64),
            ("rulename", C::Text),
            ("ev_class", C::I64),
            ("ev_type", C::Char),
            ("ev_enabled", C::Char),
            ("is_instead", C::Bool),
        ],
    ),
    (
        "pg_sequence",
        &[
            ("seqrelid", C::I64),
            ("seqtypid", C::I64),
            ("seqstart", C::I64),
            ("seqincrement", C::I64),
            ("seqmax", C::I64),
            ("seqmin", C::I64),
            ("seqcache", C::I64),
            ("seqcycle", C::Bool),
        ],
    ),
    (
        "pg_shdescription",
        &[("objoid", C::I64), ("classoid", C::I64), ("description", C::Text)],
    ),
    (
        "pg_stat_activity",
        &[
            ("datid", C::I64),
            ("datname", C::Text),
            ("pid", C::I32),
            ("usesysid", C::I64),
            ("usename", C::Text),
            ("application_name", C::Text),
            ("client_addr", C::Text),
            ("state", C::Text),
            ("query", C::Text),
        ],
    ),
    (
        "pg_statistic_ext",
        &[
            ("oid", C::I64),
            ("stxrelid", C::I64),
            ("stxname", C::Text),
            ("stxnamespace", C::I64),
            ("stxowner", C::I64),
            ("stxstattarget", C::I32),
            ("stxkeys", C::I16Arr),
            ("stxkind", C::TextArr),
        ],
    ),
    (
        "pg_trigger",
        &[
            ("oid", C::I64),
            ("tgrelid", C::I64),
            ("tgparentid", C::I64),
            ("tgname", C::Text),
            ("tgfoid", C::I64),
            ("tgtype", C::I16),
            ("tgenabled", C::Char),
            ("tgisinternal", C::Bool),
            ("tgconstrrelid", C::I64),
            ("tgconstrindid", C::I64),
            ("tgconstraint", C::I64),
            ("tgdeferrable", C::Bool),
            ("tginitdeferred", C::Bool),
            ("tgnargs", C::I16),
        ],
    ),
];

const INFO_SCHEMATA: Columns = &[
    ("catalog_name", C::Text),
    ("schema_name", C::Text),
    ("schema_owner", C::Text),
    ("default_character_set_catalog", C::Text),
    ("default_character_set_schema", C::Text),
    ("default_character_set_name", C::Text),
    ("sql_path", C::Text),
];

const INFO_TABLES: Columns = &[
    ("table_catalog", C::Text),
    ("table_schema", C::Text),
    ("table_name", C::Text),
    ("table_type", C::Text),
    ("self_referencing_column_name", C::Text),
    ("reference_generation", C::Text),
    ("user_defined_type_catalog", C::Text),
    ("user_defined_type_schema", C::Text),
    ("user_defined_type_name", C::Text),
    ("is_insertable_into", C::Text),
    ("is_typed", C::Text),
    ("commit_action", C::Text),
];

const INFO_COLUMNS: Columns = &[
    ("table_catalog", C::Text),
    ("table_schema", C::Text),
    ("table_name", C::Text),
    ("column_name", C::Text),
    ("ordinal_position", C::I32),
    ("column_default", C::Text),
    ("is_nullable", C::Text),
    ("data_type", C::Text),
    ("character_maximum_length", C::I32),
    ("character_octet_length", C::I32),
    ("numeric_precision", C::I32),
    ("numeric_precision_radix", C::I32),
    ("numeric_scale", C::I32),
    ("datetime_precision", C::I32),
    ("interval_type", C::Text),
    ("interval_precision", C::I32),
    ("character_set_catalog", C::Text),
    ("character_set_schema", C::Text),
    ("character_set_name", C::Text),
    ("collation_catalog", C::Text),
    ("collation_schema", C::Text),
    ("collation_name", C::Text),
    ("domain_catalog", C::Text),
    ("domain_schema", C::Text),
    ("domain_name", C::Text),
    ("udt_catalog", C::Text),
    ("udt_schema", C::Text),
    ("udt_name", C::Text),
    ("scope_catalog", C::Text),
    ("scope_schema", C::Text),
    ("scope_name", C::Text),
    ("maximum_cardinality", C::I32),
    ("dtd_identifier", C::Text),
    ("is_self_referencing", C::Text),
    ("is_identity", C::Text),
    ("identity_generation", C::Text),
    ("identity_start", C::Text),
    ("identity_increment", C::Text),
    ("identity_maximum", C::Text),
    ("identity_minimum", C::Text),
    ("identity_cycle", C::Text),
    ("is_generated", C::Text),
    ("generation_expression", C::Text),
    ("is_updatable", C::Text),
];

const INFO_VIEWS: Columns = &[
    ("table_catalog", C::Text),
    ("table_schema", C::Text),
    ("table_name", C::Text),
    ("view_definition", C::Text),
    ("check_option", C::Text),
    ("is_updatable", C::Text),
    ("is_insertable_into", C::Text),
    ("is_trigger_updatable", C::Text),
    ("is_trigger_deletable", C::Text),
    ("is_trigger_insertable_into", C::Text),
];

const INFO_EMPTY: &[(&str, Columns)] = &[
    (
        "table_constraints",
        &[
            ("constraint_catalog", C::Text),
            ("constraint_schema", C::Text),
            ("constraint_name", C::Text),
            ("table_catalog", C::Text),
            ("table_schema", C::Text),
            ("table_name", C::Text),
            ("constraint_type", C::Text),
            ("is_deferrable", C::Text),
            ("initially_deferred", C::Text),
            ("enforced", C::Text),
        ],
    ),
    (
        "key_column_usage",
        &[
            ("constraint_catalog", C::Text),
            ("constraint_schema", C::Text),
            ("constraint_name", C::Text),
            ("table_catalog", C::Text),
            ("table_schema", C::Text),
            ("table_name", C::Text),
            ("column_name", C::Text),
            ("ordinal_position", C::I32),
            ("position_in_unique_constraint", C::I32),
        ],
    ),
    (
        "referential_constraints",
        &[
            ("constraint_catalog", C::Text),
            ("constraint_schema", C::Text),
            ("constraint_name", C::Text),
            ("unique_constraint_catalog", C::Text),
            ("unique_constraint_schema", C::Text),
            ("unique_constraint_name", C::Text),
            ("match_option", C::Text),
            ("update_rule", C::Text),
            ("delete_rule", C::Text),
        ],
    ),
    (
        "routines",
        &[
            ("specific_catalog", C::Text),
            ("specific_schema", C::Text),
            ("specific_name", C::Text),
            ("routine_catalog", C::Text),
            ("routine_schema", C::Text),
            ("routine_name", C::Text),
            ("routine_type", C::Text),
            ("data_type", C::Text),
        ],
    ),
];

/// Whether a catalog column of this name is an array (`relacl`, `reloptions`, `polroles`, `conkey`, ...). Weir
/// never fills them: every value is NULL.
pub fn is_array_column(name: &str) -> bool {
    let all = [
        PG_NAMESPACE,
        PG_CLASS,
        PG_ATTRIBUTE,
        PG_TYPE,
        PG_DATABASE,
        PG_ROLES,
        PG_USER,
        PG_TABLESPACE,
        PG_SETTINGS,
    ];
    all.iter()
        .chain(EMPTY_TABLES.iter().map(|(_, c)| c))
        .flat_map(|cols| cols.iter())
        .any(|(n, c)| *n == name && matches!(c, C::TextArr | C::I16Arr | C::I64Arr))
}

/// Names of the `pg_catalog` tables (for unqualified-name resolution and `regclass` lookups), with OIDs.
pub fn pg_catalog_table_names() -> impl Iterator<Item = &'static str> {
    [
        "pg_namespace",
        "pg_class",
        "pg_attribute",
        "pg_type",
        "pg_database",
        "pg_roles",
        "pg_user",
        "pg_am",
        "pg_description",
        "pg_collation",
        "pg_tablespace",
        "pg_settings",
        "pg_views",
        "pg_tables",
    ]
    .into_iter()
    .chain(EMPTY_TABLES.iter().map(|(n, _)| *n))
}

/// The `information_schema` table names.
pub fn information_schema_table_names() -> impl Iterator<Item = &'static str> {
    ["schemata", "tables", "columns", "views"]
        .into_iter()
        .chain(INFO_EMPTY.iter().map(|(n, _)| *n))
}

/// The OID of a catalog table: Postgres' own for the common ones, a fixed one for the rest.
pub fn catalog_table_oid(name: &str) -> Option<i64> {
    let known = match name {
        "pg_type" => Some(1247),
        "pg_attribute" => Some(1249),
        "pg_proc" => Some(1255),
        "pg_class" => Some(PG_CLASS_OID),
        "pg_database" => Some(1262),
        "pg_namespace" => Some(2615),
        "pg_constraint" => Some(2606),
        "pg_description" => Some(2609),
        "pg_index" => Some(2610),
        "pg_attrdef" => Some(2604),
        "pg_inherits" => Some(2611),
        "pg_trigger" => Some(2620),
        "pg_am" => Some(2601),
        "pg_collation" => Some(3456),
        _ => None,
    };
    known.or_else(|| {
        pg_catalog_table_names()
            .chain(information_schema_table_names())
            .position(|n| n == name)
            .map(|i| 12_000 + i as i64)
    })
}

/// What the catalog tables are built from.
pub struct CatalogInput<'a> {
    pub relations: &'a [Relation],
    /// The database name `pg_database` lists.
    pub database: &'a str,
    /// `pg_settings` rows: name and value.
    pub settings: &'a [(&'a str, String)],
}

/// All `pg_catalog` tables.
pub fn pg_catalog_tables(input: &CatalogInput) -> DfResult<Vec<(&'static str, Arc<dyn TableProvider>)>> {
    let mut out: Vec<(&'static str, Arc<dyn TableProvider>)> = vec![
        ("pg_namespace", table(PG_NAMESPACE, namespace_rows())?),
        ("pg_class", table(PG_CLASS, class_rows(input.relations))?),
        ("pg_attribute", table(PG_ATTRIBUTE, attribute_rows(input.relations))?),
        ("pg_type", table(PG_TYPE, type_rows())?),
        ("pg_database", table(PG_DATABASE, database_rows(input.database))?),
        ("pg_roles", table(PG_ROLES, role_rows())?),
        ("pg_user", table(PG_USER, user_rows())?),
        (
            "pg_am",
            table(
                PG_AM,
                vec![
                    vec![i64v(2), text("heap"), text("heap_tableam_handler"), text("t")],
                    vec![i64v(403), text("btree"), text("bthandler"), text("i")],
                ],
            )?,
        ),
        (
            "pg_description",
            table(PG_DESCRIPTION, description_rows(input.relations))?,
        ),
        ("pg_collation", table(PG_COLLATION, collation_rows())?),
        (
            "pg_tablespace",
            table(
                PG_TABLESPACE,
                vec![
                    vec![i64v(1663), text("pg_default"), i64v(OWNER_OID), null(), null()],
                    vec![i64v(1664), text("pg_global"), i64v(OWNER_OID), null(), null()],
                ],
            )?,
        ),
        ("pg_settings", table(PG_SETTINGS, settings_rows(input.settings))?),
        ("pg_views", table(PG_VIEWS, view_rows(input.relations))?),
        ("pg_tables", table(PG_TABLES, table_rows(input.relations))?),
    ];
    for (name, columns) in EMPTY_TABLES {
        out.push((name, table(columns, vec![])?));
    }
    Ok(out)
}

/// All `information_schema` tables.
pub fn information_schema_tables(input: &CatalogInput) -> DfResult<Vec<(&'static str, Arc<dyn TableProvider>)>> {
    let db = input.database;
    let weir: Vec<&Relation> = input
        .relations
        .iter()
        .filter(|r| r.namespace == PUBLIC_NAMESPACE)
        .collect();
    let schemata = ["pg_catalog", "public", "information_schema"]
        .iter()
        .map(|s| {
            vec![
                text(db),
                text(s),
                text(OWNER_NAME),
                null(),
                null(),
                text("UTF8"),
                null(),
            ]
        })
        .collect();
    let tables = weir
        .iter()
        .map(|r| {
            vec![
                text(db),
                text("public"),
                text(&r.name),
                text(if r.relkind == 'v' { "VIEW" } else { "BASE TABLE" }),
                null(),
                null(),
                null(),
                null(),
                null(),
                text("YES"),
                text("NO"),
                null(),
            ]
        })
        .collect();
    let mut columns = Vec::new();
    for r in &weir {
        for c in r.visible_columns() {
            let (oid, typmod) = pg_types::pg_type_of(&c.data_type);
            let t = pg_types::by_oid(oid);
            let data_type = match t {
                Some(t) if t.element != 0 => "ARRAY".to_string(),
                Some(t) if t.oid == pg_types::NUMERIC => "numeric".to_string(),
                Some(t) => t.sql_name.to_string(),
                None => "text".to_string(),
            };
            let (precision, scale) = match &c.data_type {
                DataType::Decimal128(p, s) => (Some(i32::from(*p)), Some(i32::from(*s))),
                DataType::Int32 => (Some(32), Some(0)),
                DataType::Int64 => (Some(64), Some(0)),
                DataType::Float64 => (Some(53), None),
                _ => (None, None),
            };
            let radix = match &c.data_type {
                DataType::Decimal128(..) => Some(10),
                DataType::Int32 | DataType::Int64 | DataType::Float64 => Some(2),
                _ => None,
            };
            let _ = typmod;
            columns.push(vec![
                text(db),
                text("public"),
                text(&r.name),
                text(&c.name),
                i32v(i32::from(c.number)),
                null(),
                text(if c.not_null { "NO" } else { "YES" }),
                text(&data_type),
                null(),
                null(),
                opt_i32(precision),
                opt_i32(radix),
                opt_i32(scale),
                null(),
                null(),
                null(),
                null(),
                null(),
                null(),
                null(),
                null(),
                null(),
                null(),
                null(),
                null(),
                text(db),
                text("pg_catalog"),
                text(t.map(|t| t.name).unwrap_or("text")),
                null(),
                null(),
                null(),
                null(),
                text(&c.number.to_string()),
                text("NO"),
                text("NO"),
                null(),
                null(),
                null(),
                null(),
                null(),
                text("NO"),
                text("NEVER"),
                null(),
                text("NO"),
            ]);
        }
    }
    let views = weir
        .iter()
        .filter(|r| r.relkind == 'v')
        .map(|r| {
            vec![
                text(db),
                text("public"),
                text(&r.name),
                opt_text(r.definition.as_deref()),
                text("NONE"),
                text("NO"),
                text("YES"),
                text("NO"),
                text("NO"),
                text("NO"),
            ]
        })
        .collect();
    let mut out: Vec<(&'static str, Arc<dyn TableProvider>)> = vec![
        ("schemata", table(INFO_SCHEMATA, schemata)?),
        ("tables", table(INFO_TABLES, tables)?),
        ("columns", table(INFO_COLUMNS, columns)?),
        ("views", table(INFO_VIEWS, views)?),
    ];
    for (name, cols) in INFO_EMPTY {
        out.push((name, table(cols, vec![])?));
    }
    Ok(out)
}

fn namespace_rows() -> Vec<Vec<ScalarValue>> {
    [
        (PG_CATALOG_NAMESPACE, "pg_catalog"),
        (PUBLIC_NAMESPACE, "public"),
        (INFORMATION_SCHEMA_NAMESPACE, "information_schema"),
    ]
    .iter()
    .map(|(oid, name)| vec![i64v(*oid), text(name), i64v(OWNER_OID), null()])
    .collect()
}

fn class_rows(relations: &[Relation]) -> Vec<Vec<ScalarValue>> {
    relations
        .iter()
        .map(|r| {
            let natts = r.visible_columns().count();
            vec![
                i64v(r.oid),
                text(&r.name),
                i64v(r.namespace),
                i64v(0),
                i64v(0),
                i64v(OWNER_OID),
                i64v(if r.relkind == 'r' { 2 } else { 0 }),
                i64v(r.oid),
                i64v(0),
                i32v(0),
                ScalarValue::Float32(Some(-1.0)),
                i32v(0),
                i64v(0),
                boolv(false),
                boolv(false),
                text("p"),
                text(&r.relkind.to_string()),
                ScalarValue::Int16(Some(i16::try_from(natts).unwrap_or(i16::MAX))),
                ScalarValue::Int16(Some(0)),
                boolv(false),
                boolv(false),
                boolv(false),
                boolv(false),
                boolv(false),
                boolv(true),
                // Postgres' catalog tables have replica identity "nothing", user tables "default".
                text(if r.namespace == PG_CATALOG_NAMESPACE { "n" } else { "d" }),
                boolv(false),
                i64v(0),
                i64v(0),
                i64v(0),
                null(),
                null(),
                null(),
            ]
        })
        .collect()
}

fn attribute_rows(relations: &[Relation]) -> Vec<Vec<ScalarValue>> {
    let mut rows = Vec::new();
    for r in relations {
        for c in &r.columns {
            let (oid, typmod) = pg_types::pg_type_of(&c.data_type);
            let t = pg_types::by_oid(oid);
            let len = t.map(|t| t.len).unwrap_or(-1);
            let collation = if matches!(oid, pg_types::TEXT | pg_types::VARCHAR) {
                100
            } else {
                0
            };
            rows.push(vec![
                i64v(r.oid),
                text(&c.name),
                i64v(i64::from(oid)),
                i32v(-1),
                ScalarValue::Int16(Some(len)),
                ScalarValue::Int16(Some(c.number)),
                i32v(if t.is_some_and(|t| t.element != 0) { 1 } else { 0 }),
                i32v(-1),
                i32v(typmod),
                boolv(len > 0 && len <= 8),
                text(if len == 8 { "d" } else { "i" }),
                text(if len > 0 { "p" } else { "x" }),
                text(""),
                boolv(c.not_null),
                boolv(false),
                boolv(false),
                text(""),
                text(""),
                boolv(false),
                boolv(true),
                i32v(0),
                i64v(collation),
                null(),
                null(),
                null(),
                null(),
            ]);
        }
    }
    rows
}

fn type_rows() -> Vec<Vec<ScalarValue>> {
    TYPES
        .iter()
        .map(|t| {
            let byval = t.len > 0 && t.len <= 8;
            let io = if t.element != 0 { "array" } else { t.name };
            vec![
                i64v(i64::from(t.oid)),
                text(t.name),
                i64v(PG_CATALOG_NAMESPACE),
                i64v(OWNER_OID),
                ScalarValue::Int16(Some(t.len)),
                boolv(byval),
                text(if t.category == 'P' { "p" } else { "b" }),
                text(&t.category.to_string()),
                boolv(matches!(t.oid, pg_types::BOOL | pg_types::FLOAT8 | pg_types::TEXT)),
                boolv(true),
                text(","),
                i64v(0),
                text(if t.element != 0 { "array_subscript_handler" } else { "-" }),
                i64v(i64::from(t.element)),
                i64v(i64::from(t.array)),
                text(&format!("{io}_in")),
                text(&format!("{io}_out")),
                text(&format!("{io}_recv")),
                text(&format!("{io}_send")),
                text("-"),
                text("-"),
                text("-"),
                text(if t.len == 8 { "d" } else { "i" }),
                text(if t.len > 0 { "p" } else { "x" }),
                boolv(false),
                i64v(0),
                i32v(-1),
                i32v(0),
                i64v(if t.category == 'S' { 100 } else { 0 }),
                null(),
                null(),
                null(),
            ]
        })
        .collect()
}

fn database_rows(database: &str) -> Vec<Vec<ScalarValue>> {
    vec![vec![
        i64v(16_383),
        text(database),
        i64v(OWNER_OID),
        i32v(6),
        text("c"),
        boolv(false),
        boolv(true),
        i32v(-1),
        i64v(0),
        i64v(0),
        i64v(1663),
        text("C.UTF-8"),
        text("C.UTF-8"),
        null(),
        null(),
        null(),
        null(),
    ]]
}

fn role_rows() -> Vec<Vec<ScalarValue>> {
    vec![vec![
        text(OWNER_NAME),
        boolv(true),
        boolv(true),
        boolv(true),
        boolv(true),
        boolv(true),
        boolv(false),
        i32v(-1),
        text("********"),
        null(),
        boolv(true),
        null(),
        i64v(OWNER_OID),
    ]]
}

fn user_rows() -> Vec<Vec<ScalarValue>> {
    vec![vec![
        text(OWNER_NAME),
        i64v(OWNER_OID),
        boolv(true),
        boolv(true),
        boolv(false),
        boolv(true),
        text("********"),
        null(),
        null(),
    ]]
}

fn description_rows(relations: &[Relation]) -> Vec<Vec<ScalarValue>> {
    let mut rows = Vec::new();
    for r in relations {
        if let Some(d) = &r.description {
            rows.push(vec![i64v(r.oid), i64v(PG_CLASS_OID), i32v(0), text(d)]);
        }
        for c in r.visible_columns() {
            if let Some(k) = c.key {
                rows.push(vec![
                    i64v(r.oid),
                    i64v(PG_CLASS_OID),
                    i32v(i32::from(c.number)),
                    text(k),
                ]);
            }
        }
    }
    rows
}

fn collation_rows() -> Vec<Vec<ScalarValue>> {
    [(100, "default", "d"), (950, "C", "c"), (951, "POSIX", "c")]
        .iter()
        .map(|(oid, name, provider)| {
            vec![
                i64v(*oid),
                text(name),
                i64v(PG_CATALOG_NAMESPACE),
                i64v(OWNER_OID),
                text(provider),
                boolv(true),
                i32v(-1),
                text("C"),
                text("C"),
            ]
        })
        .collect()
}

fn settings_rows(settings: &[(&str, String)]) -> Vec<Vec<ScalarValue>> {
    settings
        .iter()
        .map(|(name, value)| {
            vec![
                text(name),
                text(value),
                null(),
                text("Weir"),
                null(),
                null(),
                text("user"),
                text("string"),
                text("default"),
                null(),
                null(),
                null(),
                text(value),
                text(value),
                null(),
                null(),
                boolv(false),
            ]
        })
        .collect()
}

fn view_rows(relations: &[Relation]) -> Vec<Vec<ScalarValue>> {
    relations
        .iter()
        .filter(|r| r.relkind == 'v' && r.namespace == PUBLIC_NAMESPACE)
        .map(|r| {
            vec![
                text("public"),
                text(&r.name),
                text(OWNER_NAME),
                opt_text(r.definition.as_deref()),
            ]
        })
        .collect()
}

fn table_rows(relations: &[Relation]) -> Vec<Vec<ScalarValue>> {
    relations
        .iter()
        .filter(|r| r.relkind == 'r' && r.namespace == PUBLIC_NAMESPACE)
        .map(|r| {
            vec![
                text("public"),
                text(&r.name),
                text(OWNER_NAME),
                null(),
                boolv(false),
                boolv(false),
                boolv(false),
                boolv(false),
            ]
        })
        .collect()
}

/// The relations of the catalog tables themselves, so `'pg_catalog.pg_class'::regclass` and `\d pg_class` work.
pub fn catalog_relations() -> Vec<Relation> {
    use super::relations::RelColumn;
    let mut out = Vec::new();
    let mut push = |name: &str, namespace: i64, relkind: char, columns: Columns| {
        out.push(Relation {
            oid: catalog_table_oid(name).unwrap_or(0),
            namespace,
            name: name.to_string(),
            relkind,
            columns: columns
                .iter()
                .enumerate()
                .map(|(i, (n, c))| RelColumn {
                    name: n.to_string(),
                    data_type: c.data_type(),
                    number: i16::try_from(i + 1).unwrap_or(i16::MAX),
                    key: None,
                    not_null: false,
                })
                .collect(),
            description: None,
            definition: None,
        });
    };
    let pg: [(&str, Columns); 14] = [
        ("pg_namespace", PG_NAMESPACE),
        ("pg_class", PG_CLASS),
        ("pg_attribute", PG_ATTRIBUTE),
        ("pg_type", PG_TYPE),
        ("pg_database", PG_DATABASE),
        ("pg_roles", PG_ROLES),
        ("pg_user", PG_USER),
        ("pg_am", PG_AM),
        ("pg_description", PG_DESCRIPTION),
        ("pg_collation", PG_COLLATION),
        ("pg_tablespace", PG_TABLESPACE),
        ("pg_settings", PG_SETTINGS),
        ("pg_views", PG_VIEWS),
        ("pg_tables", PG_TABLES),
    ];
    for (name, cols) in pg.into_iter().chain(EMPTY_TABLES.iter().copied()) {
        push(name, PG_CATALOG_NAMESPACE, 'r', cols);
    }
    let info: [(&str, Columns); 4] = [
        ("schemata", INFO_SCHEMATA),
        ("tables", INFO_TABLES),
        ("columns", INFO_COLUMNS),
        ("views", INFO_VIEWS),
    ];
    for (name, cols) in info.into_iter().chain(INFO_EMPTY.iter().copied()) {
        push(name, INFORMATION_SCHEMA_NAMESPACE, 'v', cols);
    }
    out
}

fn table(columns: Columns, rows: Vec<Vec<ScalarValue>>) -> DfResult<Arc<dyn TableProvider>> {
    let schema: SchemaRef = Arc::new(Schema::new(
        columns.iter().map(|(n, c)| field(n, *c)).collect::<Vec<_>>(),
    ));
    let mut arrays: Vec<ArrayRef> = Vec::with_capacity(columns.len());
    for (i, (_, c)) in columns.iter().enumerate() {
        let dt = c.data_type();
        if rows.is_empty() {
            arrays.push(new_null_array(&dt, 0));
            continue;
        }
        let values = rows
            .iter()
            .map(|r| match r.get(i) {
                Some(v) if !matches!(v, ScalarValue::Null) => v.clone(),
                _ => ScalarValue::try_from(&dt).unwrap_or(ScalarValue::Null),
            })
            .collect::<Vec<_>>();
        arrays.push(ScalarValue::iter_to_array(values)?);
    }
    let batch = RecordBatch::try_new(schema.clone(), arrays)?;
    Ok(Arc::new(MemTable::try_new(schema, vec![vec![batch]])?))
}

/// Field metadata naming the Postgres type of a column when it is not the one its Arrow type maps to.
pub const PG_TYPE_METADATA: &str = "weir.pg_type";

fn field(name: &str, c: C) -> Field {
    let f = Field::new(name, c.data_type(), true);
    match c {
        C::Char => f.with_metadata([(PG_TYPE_METADATA.to_string(), "char".to_string())].into()),
        _ => f,
    }
}

fn i64v(v: i64) -> ScalarValue {
    ScalarValue::Int64(Some(v))
}

fn i32v(v: i32) -> ScalarValue {
    ScalarValue::Int32(Some(v))
}

fn opt_i32(v: Option<i32>) -> ScalarValue {
    ScalarValue::Int32(v)
}

fn boolv(v: bool) -> ScalarValue {
    ScalarValue::Boolean(Some(v))
}

fn text(s: &str) -> ScalarValue {
    ScalarValue::Utf8(Some(s.to_string()))
}

fn opt_text(s: Option<&str>) -> ScalarValue {
    ScalarValue::Utf8(s.map(str::to_string))
}

fn null() -> ScalarValue {
    ScalarValue::Null
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_table_builds_with_rows_matching_its_columns() {
        let mut relations = catalog_relations();
        relations.push(Relation {
            oid: 20_000,
            namespace: PUBLIC_NAMESPACE,
            name: "PAGEVIEWS".into(),
            relkind: 'v',
            columns: vec![super::super::relations::RelColumn {
                name: "REGION".into(),
                data_type: DataType::Utf8,
                number: 1,
                key: Some("KEY"),
                not_null: false,
            }],
            description: Some("STREAM".into()),
            definition: Some("CREATE STREAM ...".into()),
        });
        let settings = [("server_version", "16.6".to_string())];
        let input = CatalogInput {
            relations: &relations,
            database: "weir",
            settings: &settings,
        };
        let pg = pg_catalog_tables(&input).unwrap();
        assert!(pg.iter().any(|(n, _)| *n == "pg_class"));
        let info = information_schema_tables(&input).unwrap();
        assert_eq!(info.len(), information_schema_table_names().count());
        for name in ALWAYS_EMPTY {
            assert!(
                pg.iter().chain(info.iter()).any(|(n, _)| n == name),
                "{name} is listed as empty but not built"
            );
        }
    }

    #[test]
    fn catalog_tables_have_distinct_oids() {
        let mut oids: Vec<i64> = pg_catalog_table_names()
            .chain(information_schema_table_names())
            .filter_map(catalog_table_oid)
            .collect();
        let n = oids.len();
        oids.sort_unstable();
        oids.dedup();
        assert_eq!(oids.len(), n);
    }
}
