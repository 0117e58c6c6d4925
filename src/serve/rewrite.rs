//! Rewrites that turn the Postgres-specific forms tools send into SQL DataFusion plans. They run after
//! [`super::normalize`], on the `sqlparser` AST:
//!
//! - `COLLATE` is dropped (Weir compares strings by code point), and `OPERATOR(pg_catalog.~)` becomes a
//!   **case-insensitive** regular-expression match: psql sends it with the lower-case pattern of `\d name`, while
//!   Weir's names are upper-case.
//! - Functions of the connection (`current_user`, `current_database()`, `version()`, `current_setting('x')`, ...)
//!   become literals.
//! - `'name'::regclass`, `'type'::regtype` and `to_regclass('name')` become the OID they name.
//! - `obj_description(oid, 'pg_class')` and `col_description(oid, n)` become subqueries on `pg_description`.
//! - Subqueries that read only catalog tables Weir never fills (indexes, constraints, ...) become their empty
//!   result (`NULL`, `false`), so they need not be planned.
//! - A scalar subquery that DataFusion cannot decorrelate as written is reshaped: conditions on the outer row
//!   only move to a `CASE WHEN`, and the single selected value is wrapped in `max()` (the same answer for the
//!   at-most-one row a scalar subquery may return). `ARRAY(SELECT x ...)` becomes `(SELECT array_agg(x) ...)`.

use std::collections::HashSet;
use std::ops::ControlFlow;

use datafusion::sql::sqlparser::ast::{
    self, BinaryOperator, DataType, Expr, FunctionArg, FunctionArgExpr, FunctionArguments, Ident, ObjectName,
    ObjectNamePart, Query, Select, SelectItem, SetExpr, Statement, TableFactor, Value, VisitMut, VisitorMut,
};

use super::error::{ServeError, ServeErrorClass};

/// What the connection-dependent functions return.
#[derive(Debug, Clone)]
pub struct SessionInfo {
    pub user: String,
    pub database: String,
    /// The backend process id the client was given (`pg_backend_pid()`).
    pub pid: i32,
    /// Run-time parameters `current_setting()` reads, by lower-case name.
    pub settings: std::collections::BTreeMap<String, String>,
}

impl Default for SessionInfo {
    fn default() -> Self {
        SessionInfo {
            user: super::relations::OWNER_NAME.to_string(),
            database: "weir".to_string(),
            pid: 0,
            settings: Default::default(),
        }
    }
}

/// `version()`: Postgres' shape first, so tools that parse it (SQLAlchemy, psql) find a version number.
pub fn version_string() -> String {
    format!(
        "PostgreSQL 16.6 (Weir {}) on {}, a streaming SQL server in the ksqlDB dialect",
        env!("CARGO_PKG_VERSION"),
        std::env::consts::ARCH
    )
}

/// Finds a relation's OID from name parts, each with whether it was quoted.
pub type RelationLookup<'a> = dyn Fn(&[(String, bool)]) -> Option<i64> + 'a;

/// Catalog lookups the rewriter needs.
pub struct RewriteContext<'a> {
    pub session: &'a SessionInfo,
    /// The OID of a relation named by a `regclass` literal (already split and case-resolved by the caller).
    pub relation_oid: &'a RelationLookup<'a>,
    /// Whether a (lower-case) catalog table never has rows.
    pub always_empty: &'a dyn Fn(&str) -> bool,
    /// Whether a catalog column is an array column (always NULL in Weir).
    pub array_column: &'a dyn Fn(&str) -> bool,
}

/// Applies every rewrite to `statement`.
pub fn rewrite(statement: &mut Statement, ctx: &RewriteContext) -> Result<(), ServeError> {
    let mut v = Rewriter { ctx, error: None };
    let _ = statement.visit(&mut v);
    match v.error {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

struct Rewriter<'a, 'b> {
    ctx: &'a RewriteContext<'b>,
    error: Option<ServeError>,
}

impl VisitorMut for Rewriter<'_, '_> {
    type Break = ();

    fn post_visit_select(&mut self, select: &mut Select) -> ControlFlow<()> {
        unique_output_names(select);
        ControlFlow::Continue(())
    }

    fn pre_visit_select(&mut self, select: &mut Select) -> ControlFlow<()> {
        // A select over an always-empty table evaluates none of its expressions: drop the subqueries in them
        // (psql's footer queries over `pg_policy` and friends correlate in ways DataFusion cannot plan).
        let aggregated = !matches!(&select.group_by, ast::GroupByExpr::Expressions(g, _) if g.is_empty());
        if !aggregated && self.select_is_empty(select) {
            let blank = |e: &mut Expr| {
                let _ = ast::visit_expressions_mut(e, |inner| {
                    match inner {
                        Expr::Subquery(_) => *inner = null(),
                        Expr::Exists { .. } | Expr::InSubquery { .. } => {
                            *inner = Expr::Value(Value::Boolean(false).into())
                        }
                        Expr::Function(f) if matches!(f.args, FunctionArguments::Subquery(_)) => *inner = null(),
                        _ => {}
                    }
                    ControlFlow::<()>::Continue(())
                });
            };
            for item in &mut select.projection {
                match item {
                    // Values never computed: only their names matter (`unnest(indkey) AS attnum`).
                    SelectItem::ExprWithAlias { expr, .. }
                        if !matches!(expr, Expr::Identifier(_) | Expr::CompoundIdentifier(_) | Expr::Value(_)) =>
                    {
                        *expr = null()
                    }
                    SelectItem::UnnamedExpr(e) => blank(e),
                    _ => {}
                }
            }
            if let Some(w) = &mut select.selection {
                blank(w);
            }
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<()> {
        // Before descending: these replace whole subtrees (subqueries we need not plan at all).
        if let Some(replacement) = self.empty_subquery(expr) {
            *expr = replacement;
        }
        ControlFlow::Continue(())
    }

    fn post_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<()> {
        match self.rewrite_expr(expr) {
            Ok(Some(replacement)) => *expr = replacement,
            Ok(None) => {}
            Err(e) => {
                self.error = Some(e);
                return ControlFlow::Break(());
            }
        }
        ControlFlow::Continue(())
    }
}

impl Rewriter<'_, '_> {
    fn rewrite_expr(&mut self, expr: &mut Expr) -> Result<Option<Expr>, ServeError> {
        Ok(match expr {
            Expr::Collate { expr: inner, .. } => Some(std::mem::replace(inner.as_mut(), null())),
            Expr::BinaryOp {
                left,
                op: BinaryOperator::Arrow,
                right,
            } => {
                // ksqlDB's `struct->field`.
                let field = match right.as_ref() {
                    Expr::Identifier(id) => Some(id.value.clone()),
                    Expr::Value(v) => match &v.value {
                        Value::SingleQuotedString(s) => Some(s.clone()),
                        _ => None,
                    },
                    _ => None,
                };
                field.map(|f| call("get_field", vec![std::mem::replace(left.as_mut(), null()), string(&f)]))
            }
            // `polroles = '{0}'`: an array literal compared with an array column.
            Expr::BinaryOp {
                left,
                op: op @ (BinaryOperator::Eq | BinaryOperator::NotEq),
                right,
            } if is_array_ref(left, self.ctx) && array_literal(right).is_some() => {
                array_literal(right).map(|array| Expr::BinaryOp {
                    left: Box::new(std::mem::replace(left.as_mut(), null())),
                    op: op.clone(),
                    right: Box::new(array),
                })
            }
            Expr::BinaryOp { left, op, right } => {
                let replacement = match op {
                    BinaryOperator::PGCustomBinaryOperator(parts) => custom_operator(parts),
                    _ => None,
                };
                replacement.map(|op| Expr::BinaryOp {
                    left: Box::new(std::mem::replace(left.as_mut(), null())),
                    op,
                    right: Box::new(std::mem::replace(right.as_mut(), null())),
                })
            }
            Expr::Identifier(id) if id.quote_style.is_none() => self.session_keyword(&id.value),
            Expr::Function(f) => self.function(f)?,
            Expr::Cast {
                expr: inner, data_type, ..
            } => match (inner.as_ref(), reg_type(data_type)) {
                (Expr::Value(v), Some(reg)) if matches!(v.value, Value::SingleQuotedString(_)) => match &v.value {
                    Value::SingleQuotedString(s) => Some(self.reg_literal(reg, s)?),
                    _ => None,
                },
                // A name known only when the query runs (a parameter, a column): resolved by a function.
                (_, Some(Reg::Class)) => Some(call("weir_regclass", vec![std::mem::replace(inner.as_mut(), null())])),
                (_, Some(Reg::Type)) => Some(call("weir_regtype", vec![std::mem::replace(inner.as_mut(), null())])),
                _ => None,
            },
            Expr::Subquery(q) => reshape_scalar_subquery(q).map(|(condition, q)| match condition {
                Some(condition) => Expr::Case {
                    case_token: ast::helpers::attached_token::AttachedToken::empty(),
                    end_token: ast::helpers::attached_token::AttachedToken::empty(),
                    operand: None,
                    conditions: vec![ast::CaseWhen {
                        condition,
                        result: Expr::Subquery(q),
                    }],
                    else_result: None,
                },
                None => Expr::Subquery(q),
            }),
            _ => None,
        })
    }

    /// `current_schema`, `current_user` and the other words Postgres reads as function calls.
    fn session_keyword(&self, word: &str) -> Option<Expr> {
        let s = self.ctx.session;
        Some(match word.to_ascii_lowercase().as_str() {
            "current_user" | "session_user" | "user" | "current_role" => string(&s.user),
            "current_schema" => string("public"),
            "current_catalog" => string(&s.database),
            _ => return None,
        })
    }

    fn function(&mut self, f: &mut ast::Function) -> Result<Option<Expr>, ServeError> {
        let Some(name) = function_name(f) else {
            return Ok(None);
        };
        let args = plain_args(&f.args);
        let s = self.ctx.session;
        if matches!(f.args, FunctionArguments::None) {
            return Ok(self.session_keyword(&name));
        }
        Ok(Some(match name.as_str() {
            "current_database" | "current_catalog" => string(&s.database),
            "current_schema" => string("public"),
            "current_user" | "session_user" | "user" => string(&s.user),
            "version" => string(&version_string()),
            "pg_backend_pid" => number(&s.pid.to_string()),
            "current_schemas" => {
                let with_implicit = args
                    .first()
                    .is_none_or(|a| !matches!(a, Expr::Value(v) if v.value == Value::Boolean(false)));
                let mut items = vec![];
                if with_implicit {
                    items.push(string("pg_catalog"));
                }
                items.push(string("public"));
                Expr::Array(ast::Array {
                    elem: items,
                    named: true,
                })
            }
            "current_setting" => {
                let Some(Expr::Value(v)) = args.first() else {
                    return Ok(None);
                };
                let Value::SingleQuotedString(setting) = &v.value else {
                    return Ok(None);
                };
                let missing_ok = matches!(args.get(1), Some(Expr::Value(v)) if v.value == Value::Boolean(true));
                match s.settings.get(&setting.to_ascii_lowercase()) {
                    Some(value) => string(value),
                    None if missing_ok => null(),
                    None => {
                        return Err(ServeError::new(
                            ServeErrorClass::UndefinedObject,
                            format!("unrecognized configuration parameter \"{setting}\""),
                        ));
                    }
                }
            }
            "to_regclass" | "to_regtype" => {
                let Some(Expr::Value(v)) = args.first() else {
                    return Ok(None);
                };
                let Value::SingleQuotedString(text) = &v.value else {
                    return Ok(None);
                };
                let reg = if name == "to_regclass" { Reg::Class } else { Reg::Type };
                self.reg_literal(reg, text).unwrap_or_else(|_| null())
            }
            "obj_description" => {
                let Some(oid) = args.first() else { return Ok(None) };
                description_subquery(oid.clone(), number("0"))
            }
            "col_description" => {
                let (Some(oid), Some(column)) = (args.first(), args.get(1)) else {
                    return Ok(None);
                };
                description_subquery(oid.clone(), column.clone())
            }
            "array" => {
                // `ARRAY(SELECT x ...)`: DataFusion has no array subqueries; an aggregate subquery is the same.
                let FunctionArguments::Subquery(q) = &f.args else {
                    return Ok(None);
                };
                let mut q = q.as_ref().clone();
                match single_select_mut(&mut q) {
                    Some(select) if select.projection.len() == 1 => {
                        let item = select.projection.remove(0);
                        let (e, alias) = match item {
                            SelectItem::UnnamedExpr(e) => (e, None),
                            SelectItem::ExprWithAlias { expr, alias } => (expr, Some(alias)),
                            other => {
                                select.projection.insert(0, other);
                                return Ok(None);
                            }
                        };
                        let agg = call("array_agg", vec![e]);
                        select.projection.push(match alias {
                            Some(alias) => SelectItem::ExprWithAlias { expr: agg, alias },
                            None => SelectItem::UnnamedExpr(agg),
                        });
                        Expr::Subquery(Box::new(q))
                    }
                    _ => return Ok(None),
                }
            }
            _ => return Ok(None),
        }))
    }

    fn reg_literal(&self, reg: Reg, text: &str) -> Result<Expr, ServeError> {
        match reg {
            Reg::Class => {
                let parts = split_qualified_name(text);
                match (self.ctx.relation_oid)(&parts) {
                    Some(oid) => Ok(number(&oid.to_string())),
                    None => Err(ServeError::new(
                        ServeErrorClass::UndefinedTable,
                        format!("relation \"{text}\" does not exist"),
                    )),
                }
            }
            Reg::Type => match super::pg_types::by_name(text.trim_matches('"')) {
                Some(t) => Ok(number(&t.oid.to_string())),
                None => Err(ServeError::new(
                    ServeErrorClass::UndefinedObject,
                    format!("type \"{text}\" does not exist"),
                )),
            },
            Reg::Namespace => Ok(number(match text.trim_matches('"').to_ascii_lowercase().as_str() {
                "pg_catalog" => "11",
                "public" => "2200",
                "information_schema" => "13000",
                _ => {
                    return Err(ServeError::new(
                        ServeErrorClass::UndefinedObject,
                        format!("schema \"{text}\" does not exist"),
                    ));
                }
            })),
            Reg::Role => Ok(number(&super::relations::OWNER_OID.to_string())),
            Reg::Other => Ok(number("0")),
        }
    }

    /// A subquery (scalar, `EXISTS`, `IN`, `ARRAY(...)`) over catalog tables that never have rows.
    fn empty_subquery(&self, expr: &Expr) -> Option<Expr> {
        match expr {
            Expr::Subquery(q) if self.reads_only_empty(q) && !is_aggregate_query(q) => Some(null()),
            Expr::Exists { subquery, negated } if self.reads_only_empty(subquery) => {
                Some(Expr::Value(Value::Boolean(*negated).into()))
            }
            Expr::InSubquery { subquery, negated, .. } if self.reads_only_empty(subquery) => {
                Some(Expr::Value(Value::Boolean(*negated).into()))
            }
            Expr::Function(f) if function_name(f).as_deref() == Some("array") => match &f.args {
                FunctionArguments::Subquery(q) if self.reads_only_empty(q) => Some(null()),
                _ => None,
            },
            _ => None,
        }
    }

    /// Whether `q` returns no rows because an inner-joined relation is an always-empty catalog table.
    fn reads_only_empty(&self, q: &Query) -> bool {
        match q.body.as_ref() {
            SetExpr::Select(select) => self.select_is_empty(select),
            _ => false,
        }
    }

    /// Whether a `SELECT` (before grouping) has no rows because it inner-joins an always-empty catalog table.
    fn select_is_empty(&self, select: &Select) -> bool {
        let is_empty = |f: &TableFactor| match f {
            // `unnest(c.reloptions)`: the catalog's array columns are all NULL, so this has no rows.
            TableFactor::Table {
                name, args: Some(args), ..
            } => {
                let is_unnest = matches!(name.0.last(), Some(ObjectNamePart::Identifier(id)) if id.value.eq_ignore_ascii_case("unnest"));
                is_unnest
                    && args.args.iter().all(|a| match a {
                        FunctionArg::Unnamed(FunctionArgExpr::Expr(Expr::CompoundIdentifier(ids))) => {
                            ids.last().is_some_and(|id| (self.ctx.array_column)(&id.value))
                        }
                        FunctionArg::Unnamed(FunctionArgExpr::Expr(Expr::Identifier(id))) => {
                            (self.ctx.array_column)(&id.value)
                        }
                        _ => false,
                    })
            }
            TableFactor::Table { name, args: None, .. } => {
                let parts: Vec<String> = name
                    .0
                    .iter()
                    .filter_map(|p| match p {
                        ObjectNamePart::Identifier(id) => Some(id.value.to_lowercase()),
                        _ => None,
                    })
                    .collect();
                let in_catalog = match parts.as_slice() {
                    [_] => true,
                    [schema, _] => super::normalize::CATALOG_SCHEMAS.contains(&schema.as_str()),
                    _ => false,
                };
                in_catalog && parts.last().is_some_and(|t| (self.ctx.always_empty)(t))
            }
            _ => false,
        };
        select.from.iter().any(|twj| {
            is_empty(&twj.relation)
                || twj.joins.iter().any(|j| {
                    matches!(
                        j.join_operator,
                        ast::JoinOperator::Join(_) | ast::JoinOperator::Inner(_) | ast::JoinOperator::CrossJoin(_)
                    ) && is_empty(&j.relation)
                })
        })
    }
}

/// Postgres lets a select list repeat a name (`SELECT NULL, NULL`); DataFusion needs unique names, so repeats
/// get a generated alias. (Clients see Postgres' names: see [`super::normalize::output_labels`].)
fn unique_output_names(select: &mut Select) {
    let mut seen = HashSet::new();
    for (i, item) in select.projection.iter_mut().enumerate() {
        let name = match item {
            SelectItem::UnnamedExpr(Expr::Identifier(id)) => id.value.clone(),
            SelectItem::UnnamedExpr(Expr::CompoundIdentifier(ids)) => {
                ids.iter().map(|i| i.value.as_str()).collect::<Vec<_>>().join(".")
            }
            SelectItem::UnnamedExpr(e) => e.to_string(),
            SelectItem::ExprWithAlias { alias, .. } => alias.value.clone(),
            _ => continue,
        };
        if seen.insert(name) {
            continue;
        }
        if let SelectItem::UnnamedExpr(e) = item {
            let expr = std::mem::replace(e, null());
            *item = SelectItem::ExprWithAlias {
                expr,
                alias: Ident::with_quote('"', format!("?column?{}", i + 1)),
            };
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Reg {
    Class,
    Type,
    Namespace,
    Role,
    Other,
}

/// Which `reg*` type a cast targets.
fn reg_type(t: &DataType) -> Option<Reg> {
    let name = match t {
        DataType::Regclass => return Some(Reg::Class),
        DataType::Custom(name, _) => match name.0.last() {
            Some(ObjectNamePart::Identifier(id)) => id.value.to_ascii_lowercase(),
            _ => return None,
        },
        _ => return None,
    };
    match name.as_str() {
        "regclass" => Some(Reg::Class),
        "regtype" => Some(Reg::Type),
        "regnamespace" => Some(Reg::Namespace),
        "regrole" => Some(Reg::Role),
        "regproc" | "regprocedure" | "regoper" | "regoperator" | "regconfig" | "regdictionary" => Some(Reg::Other),
        _ => None,
    }
}

fn is_array_ref(e: &Expr, ctx: &RewriteContext) -> bool {
    match e {
        Expr::Identifier(id) => (ctx.array_column)(&id.value),
        Expr::CompoundIdentifier(ids) => ids.last().is_some_and(|id| (ctx.array_column)(&id.value)),
        _ => false,
    }
}

/// `'{1,2}'` as `ARRAY[1, 2]` (numbers stay numbers, anything else is a string).
fn array_literal(e: &Expr) -> Option<Expr> {
    let Expr::Value(v) = e else { return None };
    let Value::SingleQuotedString(s) = &v.value else {
        return None;
    };
    let inner = s.trim().strip_prefix('{')?.strip_suffix('}')?;
    let elem = inner
        .split(',')
        .filter(|x| !x.trim().is_empty())
        .map(|x| {
            let x = x.trim().trim_matches('"');
            if x.parse::<f64>().is_ok() { number(x) } else { string(x) }
        })
        .collect();
    Some(Expr::Array(ast::Array { elem, named: true }))
}

/// `OPERATOR(pg_catalog.op)`: the operators psql and drivers send in that form.
fn custom_operator(parts: &[String]) -> Option<BinaryOperator> {
    let op = parts.last()?;
    Some(match op.as_str() {
        // Case-insensitive on purpose: psql lower-cases `\d name` patterns; Weir's names are upper-case.
        "~" => BinaryOperator::PGRegexIMatch,
        "!~" => BinaryOperator::PGRegexNotIMatch,
        "~*" => BinaryOperator::PGRegexIMatch,
        "!~*" => BinaryOperator::PGRegexNotIMatch,
        "~~" => BinaryOperator::PGILikeMatch,
        "!~~" => BinaryOperator::PGNotILikeMatch,
        "=" => BinaryOperator::Eq,
        "<>" => BinaryOperator::NotEq,
        "<" => BinaryOperator::Lt,
        "<=" => BinaryOperator::LtEq,
        ">" => BinaryOperator::Gt,
        ">=" => BinaryOperator::GtEq,
        "||" => BinaryOperator::StringConcat,
        _ => return None,
    })
}

/// Splits `schema.name` / `"Quoted"` into parts, each with whether it was quoted.
pub(crate) fn split_qualified_name(text: &str) -> Vec<(String, bool)> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    let mut in_quotes = false;
    let mut chars = text.trim().chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if in_quotes && chars.peek() == Some(&'"') => {
                current.push('"');
                chars.next();
            }
            '"' => {
                in_quotes = !in_quotes;
                quoted = true;
            }
            '.' if !in_quotes => {
                parts.push((std::mem::take(&mut current), quoted));
                quoted = false;
            }
            c => current.push(c),
        }
    }
    parts.push((current, quoted));
    parts
}

/// If `q` is a scalar subquery DataFusion cannot plan as written (one non-aggregate value), reshapes it; returns
/// the condition on the outer row to test first, if any.
fn reshape_scalar_subquery(q: &Query) -> Option<(Option<Expr>, Box<Query>)> {
    if is_aggregate_query(q) || q.limit_clause.is_some() || q.order_by.is_some() {
        return None;
    }
    let mut q = q.clone();
    let select = single_select_mut(&mut q)?;
    if select.projection.len() != 1
        || !matches!(select.group_by, ast::GroupByExpr::Expressions(ref g, _) if g.is_empty())
    {
        return None;
    }
    let inner_names = from_qualifiers(select);
    // Conditions that mention only the outer row's columns: they decide whether the subquery runs at all.
    let mut outer = Vec::new();
    if let Some(selection) = select.selection.take() {
        let all = conjuncts(selection);
        // `inner.x = outer.y` lets other conditions name `inner.x` where they named `outer.y`: DataFusion
        // decorrelates equalities with the outer row, not other comparisons with it.
        let equal_inner: Vec<(Vec<Ident>, Expr)> = all
            .iter()
            .filter_map(|c| correlated_equality(c, &inner_names))
            .collect();
        let mut inner = Vec::new();
        for mut c in all {
            if correlated_equality(&c, &inner_names).is_none() {
                substitute_outer(&mut c, &inner_names, &equal_inner);
            }
            if refers_only_outside(&c, &inner_names) {
                outer.push(c);
            } else {
                inner.push(c);
            }
        }
        select.selection = inner.into_iter().reduce(|a, b| Expr::BinaryOp {
            left: Box::new(a),
            op: BinaryOperator::And,
            right: Box::new(b),
        });
    }
    let item = select.projection.remove(0);
    select.projection.push(match item {
        SelectItem::UnnamedExpr(e) => SelectItem::UnnamedExpr(call("max", vec![e])),
        SelectItem::ExprWithAlias { expr, alias } => SelectItem::ExprWithAlias {
            expr: call("max", vec![expr]),
            alias,
        },
        other => {
            select.projection.push(other);
            return None;
        }
    });
    let condition = outer.into_iter().reduce(|a, b| Expr::BinaryOp {
        left: Box::new(a),
        op: BinaryOperator::And,
        right: Box::new(b),
    });
    Some((condition, Box::new(q)))
}

fn single_select_mut(q: &mut Query) -> Option<&mut Select> {
    match q.body.as_mut() {
        SetExpr::Select(s) => Some(s.as_mut()),
        _ => None,
    }
}

fn from_qualifiers(select: &Select) -> HashSet<String> {
    let mut names = HashSet::new();
    for twj in &select.from {
        for f in std::iter::once(&twj.relation).chain(twj.joins.iter().map(|j| &j.relation)) {
            match f {
                TableFactor::Table { name, alias, .. } => {
                    if let Some(ObjectNamePart::Identifier(id)) = name.0.last() {
                        names.insert(id.value.clone());
                    }
                    if let Some(a) = alias {
                        names.insert(a.name.value.clone());
                    }
                }
                TableFactor::Derived { alias: Some(a), .. } | TableFactor::Function { alias: Some(a), .. } => {
                    names.insert(a.name.value.clone());
                }
                _ => {}
            }
        }
    }
    names
}

fn conjuncts(e: Expr) -> Vec<Expr> {
    match e {
        Expr::BinaryOp {
            left,
            op: BinaryOperator::And,
            right,
        } => {
            let mut v = conjuncts(*left);
            v.extend(conjuncts(*right));
            v
        }
        Expr::Nested(inner)
            if matches!(
                inner.as_ref(),
                Expr::BinaryOp {
                    op: BinaryOperator::And,
                    ..
                }
            ) =>
        {
            conjuncts(*inner)
        }
        other => vec![other],
    }
}

/// True when every column `e` names is qualified by a relation that is not in the subquery's `FROM`.
fn refers_only_outside(e: &Expr, inner: &HashSet<String>) -> bool {
    struct Check<'a> {
        inner: &'a HashSet<String>,
        columns: usize,
        ok: bool,
    }
    impl ast::Visitor for Check<'_> {
        type Break = ();
        fn pre_visit_expr(&mut self, e: &Expr) -> ControlFlow<()> {
            match e {
                Expr::Identifier(_) | Expr::Subquery(_) | Expr::Exists { .. } | Expr::InSubquery { .. } => {
                    self.ok = false;
                    return ControlFlow::Break(());
                }
                Expr::CompoundIdentifier(ids) => {
                    self.columns += 1;
                    let qualifier = ids.len().checked_sub(2).and_then(|i| ids.get(i));
                    if qualifier.is_none_or(|q| self.inner.contains(&q.value)) {
                        self.ok = false;
                        return ControlFlow::Break(());
                    }
                }
                _ => {}
            }
            ControlFlow::Continue(())
        }
    }
    let mut c = Check {
        inner,
        columns: 0,
        ok: true,
    };
    let _ = ast::Visit::visit(e, &mut c);
    c.ok && c.columns > 0
}

fn qualifier_is_inner(ids: &[Ident], inner: &HashSet<String>) -> Option<bool> {
    let q = ids.len().checked_sub(2).and_then(|i| ids.get(i))?;
    Some(inner.contains(&q.value))
}

/// For `inner.col = outer.col` (either order): the outer column and the inner expression equal to it.
fn correlated_equality(c: &Expr, inner: &HashSet<String>) -> Option<(Vec<Ident>, Expr)> {
    let Expr::BinaryOp {
        left,
        op: BinaryOperator::Eq,
        right,
    } = c
    else {
        return None;
    };
    match (left.as_ref(), right.as_ref()) {
        (Expr::CompoundIdentifier(l), Expr::CompoundIdentifier(r)) => {
            match (qualifier_is_inner(l, inner)?, qualifier_is_inner(r, inner)?) {
                (true, false) => Some((r.clone(), left.as_ref().clone())),
                (false, true) => Some((l.clone(), right.as_ref().clone())),
                _ => None,
            }
        }
        _ => None,
    }
}

/// Replaces outer columns in `c` by inner expressions known to be equal to them.
fn substitute_outer(c: &mut Expr, inner: &HashSet<String>, equal_inner: &[(Vec<Ident>, Expr)]) {
    let _ = ast::visit_expressions_mut(c, |e| {
        if let Expr::CompoundIdentifier(ids) = e
            && qualifier_is_inner(ids, inner) == Some(false)
            && let Some((_, replacement)) = equal_inner.iter().find(|(outer, _)| outer == ids)
        {
            *e = replacement.clone();
        }
        ControlFlow::<()>::Continue(())
    });
}

const AGGREGATES: &[&str] = &[
    "count",
    "sum",
    "min",
    "max",
    "avg",
    "array_agg",
    "string_agg",
    "bool_and",
    "bool_or",
    "every",
    "json_agg",
    "jsonb_agg",
    "first_value",
    "last_value",
];

fn is_aggregate_query(q: &Query) -> bool {
    let SetExpr::Select(select) = q.body.as_ref() else {
        return false;
    };
    if !matches!(&select.group_by, ast::GroupByExpr::Expressions(g, _) if g.is_empty()) {
        return true;
    }
    select.projection.iter().any(|item| {
        let e = match item {
            SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => e,
            _ => return false,
        };
        let mut found = false;
        let _ = ast::visit_expressions(e, |e| {
            if let Expr::Function(f) = e
                && f.over.is_none()
                && function_name(f).is_some_and(|n| AGGREGATES.contains(&n.as_str()))
            {
                found = true;
                return ControlFlow::Break(());
            }
            ControlFlow::Continue(())
        });
        found
    })
}

fn function_name(f: &ast::Function) -> Option<String> {
    match f.name.0.last() {
        Some(ObjectNamePart::Identifier(id)) => Some(id.value.to_ascii_lowercase()),
        _ => None,
    }
}

fn plain_args(args: &FunctionArguments) -> Vec<Expr> {
    match args {
        FunctionArguments::List(list) => list
            .args
            .iter()
            .filter_map(|a| match a {
                FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => Some(e.clone()),
                _ => None,
            })
            .collect(),
        _ => vec![],
    }
}

fn description_subquery(oid: Expr, subid: Expr) -> Expr {
    let sql = "SELECT max(description) FROM pg_catalog.pg_description WHERE objoid = 0 AND objsubid = 0";
    let mut q = match datafusion::sql::sqlparser::parser::Parser::parse_sql(
        &datafusion::sql::sqlparser::dialect::PostgreSqlDialect {},
        sql,
    ) {
        Ok(mut v) => match v.pop() {
            Some(Statement::Query(q)) => q,
            _ => return null(),
        },
        Err(_) => return null(),
    };
    if let Some(select) = single_select_mut(&mut q) {
        select.selection = Some(Expr::BinaryOp {
            left: Box::new(Expr::BinaryOp {
                left: Box::new(Expr::Identifier(Ident::new("objoid"))),
                op: BinaryOperator::Eq,
                right: Box::new(oid),
            }),
            op: BinaryOperator::And,
            right: Box::new(Expr::BinaryOp {
                left: Box::new(Expr::Identifier(Ident::new("objsubid"))),
                op: BinaryOperator::Eq,
                right: Box::new(subid),
            }),
        });
    }
    Expr::Subquery(q)
}

fn call(name: &str, args: Vec<Expr>) -> Expr {
    crate::plan::expr::call(name, args)
}

fn string(s: &str) -> Expr {
    Expr::Value(Value::SingleQuotedString(s.to_string()).into())
}

fn number(s: &str) -> Expr {
    Expr::Value(Value::Number(s.to_string(), false).into())
}

fn null() -> Expr {
    Expr::Value(Value::Null.into())
}

/// An object name of one identifier.
pub fn object_name(name: &str) -> ObjectName {
    ObjectName(vec![ObjectNamePart::Identifier(Ident::new(name))])
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::sql::sqlparser::dialect::PostgreSqlDialect;
    use datafusion::sql::sqlparser::parser::Parser;

    fn run(sql: &str) -> Result<String, ServeError> {
        let mut s = Parser::parse_sql(&PostgreSqlDialect {}, sql).unwrap().remove(0);
        let session = SessionInfo {
            user: "alice".into(),
            database: "db".into(),
            pid: 7,
            settings: [("search_path".to_string(), "public".to_string())].into(),
        };
        let lookup = |parts: &[(String, bool)]| match parts.last() {
            Some((n, false)) if n.eq_ignore_ascii_case("pageviews") => Some(16400),
            Some((n, _)) if n == "pg_class" => Some(1259),
            _ => None,
        };
        let ctx = RewriteContext {
            session: &session,
            relation_oid: &lookup,
            always_empty: &|t: &str| t == "pg_attrdef",
            array_column: &|c: &str| c == "polroles" || c == "reloptions",
        };
        rewrite(&mut s, &ctx)?;
        Ok(s.to_string())
    }

    #[test]
    fn session_functions_become_literals() {
        assert_eq!(
            run("SELECT current_user, current_database(), current_schema, pg_backend_pid(), current_setting('search_path')")
                .unwrap(),
            // The repeated 'public' gets a unique name for DataFusion.
            "SELECT 'alice', 'db', 'public', 7, 'public' AS \"?column?5\""
        );
        assert!(run("SELECT current_setting('nope')").is_err());
        assert!(run("SELECT version()").unwrap().contains("PostgreSQL 16.6 (Weir"));
    }

    #[test]
    fn regclass_literals_become_oids() {
        assert_eq!(
            run("SELECT 'pageviews'::regclass, 'pg_catalog.pg_class'::pg_catalog.regclass").unwrap(),
            "SELECT 16400, 1259"
        );
        let e = run("SELECT 'nope'::regclass").unwrap_err();
        assert_eq!(e.class, ServeErrorClass::UndefinedTable);
        assert_eq!(run("SELECT 'int4'::regtype").unwrap(), "SELECT 23");
    }

    #[test]
    fn psql_pattern_operators_ignore_case() {
        assert_eq!(
            run("SELECT 1 WHERE c.relname OPERATOR(pg_catalog.~) '^(x)$' COLLATE pg_catalog.default").unwrap(),
            "SELECT 1 WHERE c.relname ~* '^(x)$'"
        );
    }

    #[test]
    fn array_columns_follow_postgres_literals() {
        assert_eq!(
            run("SELECT 1 FROM pg_policy pol WHERE pol.polroles = '{0}'").unwrap(),
            "SELECT 1 FROM pg_policy pol WHERE pol.polroles = ARRAY[0]"
        );
        assert_eq!(
            run("SELECT array(select 'toast.' || x from pg_catalog.unnest(tc.reloptions) x) FROM pg_class tc").unwrap(),
            "SELECT NULL FROM pg_class tc"
        );
    }

    #[test]
    fn subqueries_over_empty_tables_are_answered() {
        assert_eq!(
            run("SELECT (SELECT d.adbin FROM pg_catalog.pg_attrdef d WHERE d.adrelid = a.attrelid), EXISTS (SELECT 1 FROM pg_attrdef) FROM pg_attribute a").unwrap(),
            "SELECT NULL, false FROM pg_attribute a"
        );
    }

    #[test]
    fn correlated_scalar_subqueries_are_reshaped() {
        assert_eq!(
            run("SELECT (SELECT c.collname FROM pg_collation c WHERE c.oid = a.attcollation AND a.attislocal) FROM pg_attribute a").unwrap(),
            "SELECT CASE WHEN a.attislocal THEN (SELECT max(c.collname) FROM pg_collation c WHERE c.oid = a.attcollation) END FROM pg_attribute a"
        );
        // psql's `\d name`: the outer column compared with an inner one is replaced by its inner equal.
        assert_eq!(
            run("SELECT (SELECT c.collname FROM pg_collation c, pg_type t WHERE c.oid = a.attcollation AND t.oid = a.atttypid AND a.attcollation <> t.typcollation) FROM pg_attribute a").unwrap(),
            "SELECT (SELECT max(c.collname) FROM pg_collation c, pg_type t WHERE c.oid = a.attcollation AND t.oid = a.atttypid AND c.oid <> t.typcollation) FROM pg_attribute a"
        );
        assert_eq!(
            run("SELECT ARRAY(SELECT n.nspname FROM pg_namespace n)").unwrap(),
            "SELECT (SELECT array_agg(n.nspname) FROM pg_namespace n)"
        );
    }
}
