//! The statements of Weir's ksqlDB dialect.
//!
//! Expressions, select items and data types inside queries are `sqlparser` AST nodes, so DataFusion's SQL planner
//! can resolve and type them; the clauses ksqlDB adds (`WINDOW`, `EMIT`, `PARTITION BY`, `WITHIN`, `WITH (...)`)
//! and the statements it adds (`PRINT`, `TERMINATE`, `LIST`, ...) are modelled here.

use datafusion::sql::sqlparser::ast::{Expr, SelectItem};

use crate::types::SqlType;

/// A parsed statement together with the exact text it was parsed from.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedStatement {
    pub statement: Statement,
    /// The statement's source text, without the trailing `;`, as written (used in the command log and in errors).
    pub text: String,
    /// 1-based line and column of the statement's first token in the submitted text.
    pub line: u64,
    pub column: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum SourceKind {
    Stream,
    Table,
}

impl SourceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::Stream => "STREAM",
            SourceKind::Table => "TABLE",
        }
    }
}

/// An identifier after ksqlDB's case rule: upper-cased unless quoted (`"x"` or `` `x` ``).
pub type Name = String;

/// One statement of the dialect.
#[derive(Debug, Clone, PartialEq)]
pub enum Statement {
    /// `CREATE [OR REPLACE] [SOURCE] STREAM|TABLE [IF NOT EXISTS] name (col type [KEY|PRIMARY KEY], ...) WITH (...)`
    CreateSource(CreateSource),
    /// `CREATE [OR REPLACE] STREAM|TABLE [IF NOT EXISTS] name [WITH (...)] AS SELECT ...`
    CreateAsSelect(CreateAsSelect),
    /// `INSERT INTO name SELECT ...`
    InsertSelect { target: Name, query: Box<Query> },
    /// `INSERT INTO name [(cols)] VALUES (...)`
    InsertValues {
        target: Name,
        columns: Option<Vec<Name>>,
        values: Vec<Expr>,
    },
    /// `DROP STREAM|TABLE [IF EXISTS] name [DELETE TOPIC]`
    Drop {
        kind: SourceKind,
        name: Name,
        if_exists: bool,
        delete_topic: bool,
    },
    /// `SHOW|LIST STREAMS|TABLES|QUERIES|TOPICS|PROPERTIES [EXTENDED]`
    Show { what: ShowTarget, extended: bool },
    /// `DESCRIBE name [EXTENDED]`; `DESCRIBE STREAMS|TABLES [EXTENDED]` is `Show`.
    Describe { name: Name, extended: bool },
    /// `EXPLAIN <statement>` or `EXPLAIN <query id>`.
    Explain(ExplainTarget),
    /// `TERMINATE query_id` or `TERMINATE ALL`.
    Terminate(TerminateTarget),
    /// `PRINT 'topic' | topic [FROM BEGINNING] [INTERVAL n] [LIMIT n]`
    Print {
        topic: String,
        from_beginning: bool,
        interval: Option<u64>,
        limit: Option<u64>,
    },
    /// A transient query: a pull query, or a push query with `EMIT CHANGES`.
    Select(Box<Query>),
    /// `SET 'name' = 'value'`
    Set { name: String, value: String },
    /// `UNSET 'name'`
    Unset { name: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShowTarget {
    Streams,
    Tables,
    Queries,
    Topics,
    Properties,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ExplainTarget {
    Statement(Box<Statement>),
    QueryId(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TerminateTarget {
    All,
    Query(String),
}

/// `CREATE ... STREAM|TABLE name (columns) WITH (...)`.
#[derive(Debug, Clone, PartialEq)]
pub struct CreateSource {
    pub kind: SourceKind,
    pub name: Name,
    pub or_replace: bool,
    pub if_not_exists: bool,
    /// `CREATE SOURCE ...`: read-only, materialized.
    pub is_source: bool,
    pub columns: Vec<ColumnDef>,
    pub properties: WithProperties,
}

/// A column declaration in `CREATE STREAM|TABLE`.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnDef {
    pub name: Name,
    pub ty: SqlType,
    pub constraint: ColumnConstraint,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ColumnConstraint {
    None,
    /// `KEY` (streams).
    Key,
    /// `PRIMARY KEY` (tables).
    PrimaryKey,
    /// `HEADERS` (all headers as `ARRAY<STRUCT<KEY STRING, VALUE BYTES>>`).
    Headers,
    /// `HEADER('key')`.
    Header(String),
}

/// `CREATE ... AS SELECT`.
#[derive(Debug, Clone, PartialEq)]
pub struct CreateAsSelect {
    pub kind: SourceKind,
    pub name: Name,
    pub or_replace: bool,
    pub if_not_exists: bool,
    pub properties: WithProperties,
    pub query: Box<Query>,
}

/// A `WITH (...)` property value.
#[derive(Debug, Clone, PartialEq)]
pub enum PropertyValue {
    String(String),
    Number(String),
    Boolean(bool),
}

impl PropertyValue {
    /// The value as text (`'x'` -> `x`, `3` -> `3`, `true` -> `true`).
    pub fn as_text(&self) -> String {
        match self {
            PropertyValue::String(s) | PropertyValue::Number(s) => s.clone(),
            PropertyValue::Boolean(b) => b.to_string(),
        }
    }
}

/// `WITH (KEY = value, ...)` with keys upper-cased, in the order written. Unknown keys are kept so the
/// planner can reject them with a precise message.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct WithProperties {
    pub entries: Vec<(String, PropertyValue, Position)>,
}

impl WithProperties {
    pub fn get(&self, key: &str) -> Option<&PropertyValue> {
        self.entries.iter().find(|(k, _, _)| k == key).map(|(_, v, _)| v)
    }
}

/// A 1-based line and column in the submitted text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Position {
    pub line: u64,
    pub column: u64,
}

/// A `SELECT` in the ksqlDB dialect.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub projection: Vec<SelectItem>,
    pub from: FromClause,
    pub window: Option<WindowSpec>,
    pub selection: Option<Expr>,
    pub group_by: Vec<Expr>,
    pub having: Option<Expr>,
    pub partition_by: Vec<Expr>,
    pub emit: Option<Emit>,
    pub limit: Option<u64>,
    /// Where the `SELECT` keyword is, for error messages.
    pub position: Position,
}

/// `FROM source [alias] [JOIN ...]*`.
#[derive(Debug, Clone, PartialEq)]
pub struct FromClause {
    pub source: SourceRef,
    pub joins: Vec<Join>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SourceRef {
    pub name: Name,
    pub alias: Option<Name>,
    pub position: Position,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinKind {
    Inner,
    Left,
    Right,
    Full,
}

/// `[INNER|LEFT [OUTER]|RIGHT [OUTER]|FULL [OUTER]] JOIN source [alias] [WITHIN ...] ON expr`.
#[derive(Debug, Clone, PartialEq)]
pub struct Join {
    pub kind: JoinKind,
    pub source: SourceRef,
    pub within: Option<Within>,
    pub on: Expr,
}

/// `WITHIN n unit` or `WITHIN (before, after)`, with an optional `GRACE PERIOD`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Within {
    pub before_ms: u64,
    pub after_ms: u64,
    pub grace_ms: Option<u64>,
}

/// `WINDOW TUMBLING|HOPPING|SESSION (...)`; every duration in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowSpec {
    Tumbling {
        size_ms: u64,
        retention_ms: Option<u64>,
        grace_ms: Option<u64>,
    },
    Hopping {
        size_ms: u64,
        advance_ms: u64,
        retention_ms: Option<u64>,
        grace_ms: Option<u64>,
    },
    Session {
        gap_ms: u64,
        retention_ms: Option<u64>,
        grace_ms: Option<u64>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Emit {
    Changes,
    Final,
}
