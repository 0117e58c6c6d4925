//! Identifier rules for pull queries, applied to the `sqlparser` AST before DataFusion plans it (DataFusion's own
//! identifier normalization is off).
//!
//! Weir follows ksqlDB: unquoted identifiers are upper-cased, quoted ones are kept as written. Catalog objects
//! (`pg_catalog`, `information_schema`) follow Postgres, whose tools address them in lower case: a statement that
//! reads only catalog relations (or no relation at all, like `SELECT version()`) is folded to lower case instead.
//! [`fold_for`] decides which rule a statement gets; a statement that mixes Weir sources and catalog relations is
//! folded to upper case, so its catalog relations are not found (a documented limit).
//!
//! Function names are always lower-cased (Weir's and DataFusion's functions are registered in lower case) and a
//! `pg_catalog.` qualifier on a function is dropped.
//!
//! [`output_labels`] computes the column names a Postgres client expects (`count`, `?column?`, lower-cased
//! unquoted aliases), and [`exclude_pseudo_columns`] keeps `SELECT *` from returning `ROWTIME`, `ROWPARTITION` and
//! `ROWOFFSET`, which ksqlDB leaves out of `*`.

use std::collections::HashSet;
use std::ops::ControlFlow;

use datafusion::sql::sqlparser::ast::{
    self, Expr, Ident, JoinConstraint, JoinOperator, ObjectName, ObjectNamePart, Query, Select, SelectItem,
    SelectItemQualifiedWildcardKind, SetExpr, Statement, TableFactor, VisitMut, VisitorMut,
};

use crate::types::PseudoColumn;

/// How unquoted identifiers are folded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fold {
    /// Weir's rule (ksqlDB's): upper case.
    Upper,
    /// Postgres' rule, for statements over the catalog only.
    Lower,
}

impl Fold {
    pub fn apply(self, s: &str) -> String {
        match self {
            Fold::Upper => s.to_uppercase(),
            Fold::Lower => s.to_lowercase(),
        }
    }
}

/// Schemas that hold catalog relations, which Postgres tools name in lower case.
pub const CATALOG_SCHEMAS: [&str; 2] = ["pg_catalog", "information_schema"];

/// Chooses the folding rule: [`Fold::Lower`] when every relation the statement reads is a catalog relation.
/// `is_catalog_table` says whether an unqualified name (lower-cased) is a `pg_catalog` table, which Postgres finds
/// without a schema.
pub fn fold_for(statement: &Statement, is_catalog_table: &dyn Fn(&str) -> bool) -> Fold {
    struct Relations<'a> {
        is_catalog_table: &'a dyn Fn(&str) -> bool,
        ctes: HashSet<String>,
        weir: bool,
    }
    impl ast::Visitor for Relations<'_> {
        type Break = ();
        fn pre_visit_query(&mut self, query: &Query) -> ControlFlow<()> {
            if let Some(with) = &query.with {
                for cte in &with.cte_tables {
                    self.ctes.insert(cte.alias.name.value.to_lowercase());
                }
            }
            ControlFlow::Continue(())
        }
        fn pre_visit_table_factor(&mut self, factor: &TableFactor) -> ControlFlow<()> {
            // Table functions (`generate_series(1, 3)`) read no relation.
            if let TableFactor::Table { name, args, .. } = factor
                && args.is_none()
            {
                let parts = name_parts(name);
                let catalog = match parts.as_slice() {
                    [schema, _] | [_, schema, _] => CATALOG_SCHEMAS.contains(&schema.to_lowercase().as_str()),
                    [table] => {
                        let lower = table.to_lowercase();
                        self.ctes.contains(&lower) || (self.is_catalog_table)(&lower)
                    }
                    _ => false,
                };
                if !catalog {
                    self.weir = true;
                    return ControlFlow::Break(());
                }
            }
            ControlFlow::Continue(())
        }
    }
    let mut v = Relations {
        is_catalog_table,
        ctes: HashSet::new(),
        weir: false,
    };
    let _ = ast::Visit::visit(statement, &mut v);
    if v.weir { Fold::Upper } else { Fold::Lower }
}

fn name_parts(name: &ObjectName) -> Vec<String> {
    name.0
        .iter()
        .filter_map(|p| match p {
            ObjectNamePart::Identifier(id) => Some(id.value.clone()),
            ObjectNamePart::Function(_) => None,
        })
        .collect()
}

/// Folds every unquoted identifier of `statement` with `fold` (function names to lower case).
pub fn fold_identifiers(statement: &mut Statement, fold: Fold) {
    let mut v = Folder { fold };
    let _ = statement.visit(&mut v);
}

struct Folder {
    fold: Fold,
}

impl Folder {
    fn ident(&self, id: &mut Ident) {
        if id.quote_style.is_none() {
            id.value = self.fold.apply(&id.value);
        }
    }

    fn object_name(&self, name: &mut ObjectName) {
        for part in &mut name.0 {
            if let ObjectNamePart::Identifier(id) = part {
                self.ident(id);
            }
        }
    }

    fn table_alias(&self, alias: &mut Option<ast::TableAlias>) {
        if let Some(alias) = alias {
            self.ident(&mut alias.name);
            for c in &mut alias.columns {
                self.ident(&mut c.name);
            }
        }
    }
}

impl VisitorMut for Folder {
    type Break = ();

    fn pre_visit_query(&mut self, query: &mut Query) -> ControlFlow<()> {
        if let Some(with) = &mut query.with {
            for cte in &mut with.cte_tables {
                self.ident(&mut cte.alias.name);
                for c in &mut cte.alias.columns {
                    self.ident(&mut c.name);
                }
            }
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_select(&mut self, select: &mut Select) -> ControlFlow<()> {
        for item in &mut select.projection {
            match item {
                SelectItem::ExprWithAlias { alias, .. } => self.ident(alias),
                SelectItem::ExprWithAliases { aliases, .. } => aliases.iter_mut().for_each(|a| self.ident(a)),
                SelectItem::Wildcard(opts) => self.wildcard_options(opts),
                SelectItem::QualifiedWildcard(kind, opts) => {
                    if let SelectItemQualifiedWildcardKind::ObjectName(name) = kind {
                        self.object_name(name);
                    }
                    self.wildcard_options(opts);
                }
                SelectItem::UnnamedExpr(_) => {}
            }
        }
        for from in &mut select.from {
            for join in &mut from.joins {
                if let Some(JoinConstraint::Using(names)) = join_constraint(&mut join.join_operator) {
                    names.iter_mut().for_each(|n| self.object_name(n));
                }
            }
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_relation(&mut self, relation: &mut ObjectName) -> ControlFlow<()> {
        // Catalog relations keep Postgres' lower case even inside an upper-folded statement, so that
        // `information_schema.tables` resolves wherever it appears.
        let parts = name_parts(relation);
        let catalog_schema = parts.len() >= 2
            && CATALOG_SCHEMAS.contains(&parts[parts.len() - 2].to_lowercase().as_str())
            && relation.0.iter().all(|p| match p {
                ObjectNamePart::Identifier(id) => id.quote_style.is_none(),
                ObjectNamePart::Function(_) => true,
            });
        if catalog_schema {
            for part in &mut relation.0 {
                if let ObjectNamePart::Identifier(id) = part {
                    id.value = id.value.to_lowercase();
                }
            }
        } else {
            self.object_name(relation);
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_table_factor(&mut self, factor: &mut TableFactor) -> ControlFlow<()> {
        match factor {
            TableFactor::Table { alias, .. }
            | TableFactor::Derived { alias, .. }
            | TableFactor::TableFunction { alias, .. }
            | TableFactor::Function { alias, .. }
            | TableFactor::UNNEST { alias, .. }
            | TableFactor::NestedJoin { alias, .. } => self.table_alias(alias),
            _ => {}
        }
        ControlFlow::Continue(())
    }

    fn post_visit_table_factor(&mut self, factor: &mut TableFactor) -> ControlFlow<()> {
        // Table functions live with the scalar functions (after the relation rule folded their name):
        // `pg_catalog.unnest(x)` is `unnest(x)`.
        if let TableFactor::Table {
            name, args: Some(_), ..
        } = factor
        {
            if name.0.len() == 2
                && matches!(name.0.first(), Some(ObjectNamePart::Identifier(s)) if s.value.eq_ignore_ascii_case("pg_catalog"))
            {
                name.0.remove(0);
            }
            if let Some(ObjectNamePart::Identifier(id)) = name.0.last_mut()
                && id.quote_style.is_none()
            {
                id.value = id.value.to_lowercase();
            }
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<()> {
        match expr {
            Expr::Identifier(id) => self.ident(id),
            Expr::CompoundIdentifier(ids) => ids.iter_mut().for_each(|id| self.ident(id)),
            Expr::Function(f) => {
                // `pg_catalog.format_type(...)` is `format_type(...)`: the functions live in one namespace.
                if f.name.0.len() == 2
                    && let Some(ObjectNamePart::Identifier(schema)) = f.name.0.first()
                    && schema.value.eq_ignore_ascii_case("pg_catalog")
                {
                    f.name.0.remove(0);
                }
                if let Some(ObjectNamePart::Identifier(id)) = f.name.0.last_mut()
                    && id.quote_style.is_none()
                {
                    id.value = id.value.to_lowercase();
                }
            }
            _ => {}
        }
        ControlFlow::Continue(())
    }
}

impl Folder {
    fn wildcard_options(&self, opts: &mut ast::WildcardAdditionalOptions) {
        if let Some(exclude) = &mut opts.opt_exclude {
            match exclude {
                ast::ExcludeSelectItem::Single(n) => self.object_name(n),
                ast::ExcludeSelectItem::Multiple(ns) => ns.iter_mut().for_each(|n| self.object_name(n)),
            }
        }
    }
}

fn join_constraint(op: &mut JoinOperator) -> Option<&mut JoinConstraint> {
    match op {
        JoinOperator::Join(c)
        | JoinOperator::Inner(c)
        | JoinOperator::Left(c)
        | JoinOperator::LeftOuter(c)
        | JoinOperator::Right(c)
        | JoinOperator::RightOuter(c)
        | JoinOperator::FullOuter(c)
        | JoinOperator::CrossJoin(c)
        | JoinOperator::Semi(c)
        | JoinOperator::LeftSemi(c)
        | JoinOperator::RightSemi(c)
        | JoinOperator::Anti(c)
        | JoinOperator::LeftAnti(c)
        | JoinOperator::RightAnti(c)
        | JoinOperator::StraightJoin(c) => Some(c),
        _ => None,
    }
}

/// One output column's name as Postgres would choose it, for each top-level select item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Label {
    /// Keep the name DataFusion gives (a plain column reference: its resolved name).
    Planned,
    /// Use this name.
    Named(String),
    /// A wildcard: as many planned names as it expands to.
    Wildcard,
}

/// The labels of the top-level select items, computed on the statement as written (before folding). `None` for
/// statements whose output is not a single `SELECT` list.
pub fn output_labels(statement: &Statement, fold: Fold) -> Option<Vec<Label>> {
    let Statement::Query(query) = statement else {
        return None;
    };
    let select = leftmost_select(&query.body)?;
    Some(
        select
            .projection
            .iter()
            .map(|item| match item {
                SelectItem::UnnamedExpr(e) => match pg_label(e, fold) {
                    Some(l) => Label::Named(l),
                    None => Label::Planned,
                },
                SelectItem::ExprWithAlias { alias, .. } => Label::Named(match alias.quote_style {
                    Some(_) => alias.value.clone(),
                    None => alias.value.to_lowercase(),
                }),
                SelectItem::ExprWithAliases { .. } => Label::Wildcard,
                SelectItem::Wildcard(_) | SelectItem::QualifiedWildcard(..) => Label::Wildcard,
            })
            .collect(),
    )
}

/// The labels ksqlDB gives the top-level select items (REST): column references and aliases keep the name DataFusion
/// plans (the column's name, the folded alias); any other unaliased expression is `KSQL_COL_<n>`, numbered from 0
/// in select-list order, as ksqlDB names generated columns. `None` for statements whose output is not a single
/// `SELECT` list.
pub fn ksql_labels(statement: &Statement) -> Option<Vec<Label>> {
    let Statement::Query(query) = statement else {
        return None;
    };
    let select = leftmost_select(&query.body)?;
    let mut generated = 0;
    Some(
        select
            .projection
            .iter()
            .map(|item| match item {
                SelectItem::UnnamedExpr(e) if is_column_reference(e) => Label::Planned,
                SelectItem::UnnamedExpr(_) => {
                    let name = format!("KSQL_COL_{generated}");
                    generated += 1;
                    Label::Named(name)
                }
                SelectItem::ExprWithAlias { .. } => Label::Planned,
                SelectItem::ExprWithAliases { .. } | SelectItem::Wildcard(_) | SelectItem::QualifiedWildcard(..) => {
                    Label::Wildcard
                }
            })
            .collect(),
    )
}

fn is_column_reference(e: &Expr) -> bool {
    match e {
        Expr::Identifier(_) | Expr::CompoundIdentifier(_) => true,
        Expr::Nested(inner) => is_column_reference(inner),
        _ => false,
    }
}

fn leftmost_select(body: &SetExpr) -> Option<&Select> {
    match body {
        SetExpr::Select(s) => Some(s),
        SetExpr::Query(q) => leftmost_select(&q.body),
        SetExpr::SetOperation { left, .. } => leftmost_select(left),
        _ => None,
    }
}

/// Postgres' name for an unaliased select expression (its `FigureColname`); `None` for plain column references,
/// whose planned name already is the column's name.
fn pg_label(e: &Expr, fold: Fold) -> Option<String> {
    Some(match e {
        Expr::Identifier(id) => {
            // `SELECT current_schema` is a function call in Postgres.
            return is_session_keyword(&id.value).then(|| id.value.to_lowercase());
        }
        Expr::CompoundIdentifier(_) => return None,
        Expr::Function(f) => match f.name.0.last() {
            Some(ObjectNamePart::Identifier(id)) if id.quote_style.is_some() => id.value.clone(),
            Some(ObjectNamePart::Identifier(id)) => id.value.to_lowercase(),
            _ => "?column?".to_string(),
        },
        Expr::Cast { expr, data_type, .. } => match expr.as_ref() {
            Expr::Identifier(id) => planned_name(id, fold),
            Expr::CompoundIdentifier(ids) => ids
                .last()
                .map(|id| planned_name(id, fold))
                .unwrap_or_else(|| "?column?".into()),
            inner => match pg_label(inner, fold) {
                Some(l) if l != "?column?" => l,
                _ => type_label(data_type),
            },
        },
        Expr::Nested(inner) => return pg_label(inner, fold),
        Expr::Case { .. } => "case".to_string(),
        Expr::Exists { .. } => "exists".to_string(),
        Expr::Array(_) => "array".to_string(),
        Expr::Subquery(q) => match leftmost_select(&q.body).and_then(|s| s.projection.first()) {
            Some(SelectItem::ExprWithAlias { alias, .. }) => alias.value.to_lowercase(),
            Some(SelectItem::UnnamedExpr(Expr::Identifier(id))) => planned_name(id, fold),
            Some(SelectItem::UnnamedExpr(inner)) => pg_label(inner, fold).unwrap_or_else(|| "?column?".into()),
            _ => "?column?".to_string(),
        },
        Expr::TypedString(t) => type_label(&t.data_type),
        Expr::Extract { .. } => "extract".to_string(),
        Expr::Substring { .. } => "substring".to_string(),
        Expr::Position { .. } => "position".to_string(),
        Expr::Trim { .. } => "btrim".to_string(),
        Expr::Ceil { .. } => "ceil".to_string(),
        Expr::Floor { .. } => "floor".to_string(),
        Expr::Interval(_) => "interval".to_string(),
        Expr::AtTimeZone { .. } => "timezone".to_string(),
        _ => "?column?".to_string(),
    })
}

/// The name a column reference resolves to: the identifier as folded.
fn planned_name(id: &Ident, fold: Fold) -> String {
    match id.quote_style {
        Some(_) => id.value.clone(),
        None => fold.apply(&id.value),
    }
}

fn type_label(t: &ast::DataType) -> String {
    let text = t.to_string().to_lowercase();
    let base = text.split('(').next().unwrap_or(&text).trim();
    base.rsplit('.').next().unwrap_or(base).trim_matches('"').to_string()
}

/// Words Postgres reads as function calls without parentheses.
pub fn is_session_keyword(word: &str) -> bool {
    matches!(
        word.to_ascii_lowercase().as_str(),
        "current_user" | "session_user" | "user" | "current_role" | "current_schema" | "current_catalog"
    )
}

/// Applies `labels` to the planned output names: items before the first wildcard and after the last one are
/// matched by position; wildcard expansions keep their planned names.
pub fn apply_labels(planned: &[String], labels: &[Label]) -> Vec<String> {
    let mut out = planned.to_vec();
    let first_wildcard = labels.iter().position(|l| *l == Label::Wildcard);
    let (prefix, suffix) = match first_wildcard {
        None if labels.len() == planned.len() => (labels, &labels[labels.len()..]),
        None => return out,
        Some(first) => {
            let last = labels.iter().rposition(|l| *l == Label::Wildcard).unwrap_or(first);
            (&labels[..first], &labels[last + 1..])
        }
    };
    for (i, l) in prefix.iter().enumerate() {
        if let (Label::Named(n), Some(slot)) = (l, out.get_mut(i)) {
            *slot = n.clone();
        }
    }
    let n = out.len();
    for (j, l) in suffix.iter().enumerate() {
        let Some(pos) = (n + j).checked_sub(suffix.len()) else {
            continue;
        };
        if let (Label::Named(name), Some(slot)) = (l, out.get_mut(pos)) {
            *slot = name.clone();
        }
    }
    out
}

/// Rewrites `SELECT *` (and `s.*`) over Weir sources so that the pseudo-columns are left out, as in ksqlDB. Runs
/// after folding; `is_source` says whether a (folded) relation name is a Weir source.
pub fn exclude_pseudo_columns(statement: &mut Statement, is_source: &dyn Fn(&str) -> bool) {
    struct Excluder<'a> {
        is_source: &'a dyn Fn(&str) -> bool,
    }
    impl VisitorMut for Excluder<'_> {
        type Break = ();
        fn pre_visit_select(&mut self, select: &mut Select) -> ControlFlow<()> {
            rewrite_wildcards(select, self.is_source);
            ControlFlow::Continue(())
        }
    }
    let _ = statement.visit(&mut Excluder { is_source });
}

/// A relation in a `FROM` clause: how it can be qualified, and whether it is a Weir source.
struct FromRelation {
    qualifier: Option<Ident>,
    source: bool,
}

fn from_relations(select: &Select, is_source: &dyn Fn(&str) -> bool) -> Vec<FromRelation> {
    let mut out = Vec::new();
    for twj in &select.from {
        for factor in std::iter::once(&twj.relation).chain(twj.joins.iter().map(|j| &j.relation)) {
            out.push(match factor {
                TableFactor::Table { name, alias, args, .. } => {
                    let parts = name_parts(name);
                    let table = parts.last().cloned().unwrap_or_default();
                    let in_weir_schema =
                        parts.len() == 1 || parts.len() == 2 && parts[0].eq_ignore_ascii_case("public");
                    let source = args.is_none() && in_weir_schema && is_source(&table);
                    let qualifier = match alias {
                        Some(a) => Some(a.name.clone()),
                        None if parts.len() == 1 => match name.0.last() {
                            Some(ObjectNamePart::Identifier(id)) => Some(id.clone()),
                            _ => None,
                        },
                        None => None,
                    };
                    FromRelation { qualifier, source }
                }
                TableFactor::Derived { alias, .. } | TableFactor::Function { alias, .. } => FromRelation {
                    qualifier: alias.as_ref().map(|a| a.name.clone()),
                    source: false,
                },
                _ => FromRelation {
                    qualifier: None,
                    source: false,
                },
            });
        }
    }
    out
}

fn pseudo_exclusion() -> ast::ExcludeSelectItem {
    ast::ExcludeSelectItem::Multiple(
        PseudoColumn::ALL
            .iter()
            .map(|p| ObjectName(vec![ObjectNamePart::Identifier(Ident::new(p.name()))]))
            .collect(),
    )
}

fn rewrite_wildcards(select: &mut Select, is_source: &dyn Fn(&str) -> bool) {
    let relations = from_relations(select, is_source);
    if !relations.iter().any(|r| r.source) {
        return;
    }
    let mut projection = Vec::with_capacity(select.projection.len());
    for item in std::mem::take(&mut select.projection) {
        match item {
            SelectItem::Wildcard(mut opts) if opts.opt_exclude.is_none() && opts.opt_except.is_none() => {
                if relations.len() == 1 {
                    opts.opt_exclude = Some(pseudo_exclusion());
                    projection.push(SelectItem::Wildcard(opts));
                } else if relations.iter().all(|r| r.qualifier.is_some()) {
                    // `*` over a join is ambiguous for EXCLUDE: expand it to one `q.*` per relation.
                    for r in &relations {
                        let Some(q) = &r.qualifier else { continue };
                        let mut o = opts.clone();
                        if r.source {
                            o.opt_exclude = Some(pseudo_exclusion());
                        }
                        projection.push(SelectItem::QualifiedWildcard(
                            SelectItemQualifiedWildcardKind::ObjectName(ObjectName(vec![ObjectNamePart::Identifier(
                                q.clone(),
                            )])),
                            o,
                        ));
                    }
                } else {
                    projection.push(SelectItem::Wildcard(opts));
                }
            }
            SelectItem::QualifiedWildcard(SelectItemQualifiedWildcardKind::ObjectName(name), mut opts)
                if opts.opt_exclude.is_none() && opts.opt_except.is_none() =>
            {
                let q = match name.0.last() {
                    Some(ObjectNamePart::Identifier(id)) => Some(id.value.clone()),
                    _ => None,
                };
                let is_src = relations
                    .iter()
                    .any(|r| r.source && r.qualifier.as_ref().map(|i| &i.value) == q.as_ref());
                if is_src {
                    opts.opt_exclude = Some(pseudo_exclusion());
                }
                projection.push(SelectItem::QualifiedWildcard(
                    SelectItemQualifiedWildcardKind::ObjectName(name),
                    opts,
                ));
            }
            other => projection.push(other),
        }
    }
    select.projection = projection;
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::sql::sqlparser::dialect::PostgreSqlDialect;
    use datafusion::sql::sqlparser::parser::Parser;

    fn parse(sql: &str) -> Statement {
        Parser::parse_sql(&PostgreSqlDialect {}, sql).expect("parses").remove(0)
    }

    fn is_pg_table(name: &str) -> bool {
        matches!(name, "pg_class" | "pg_namespace" | "pg_type")
    }

    #[test]
    fn unquoted_identifiers_are_upper_cased_and_quoted_ones_kept() {
        let mut s = parse("SELECT region, \"lower\", UCase(x) AS total FROM pageviews p JOIN users u USING (userid)");
        assert_eq!(fold_for(&s, &is_pg_table), Fold::Upper);
        fold_identifiers(&mut s, Fold::Upper);
        assert_eq!(
            s.to_string(),
            "SELECT REGION, \"lower\", ucase(X) AS TOTAL FROM PAGEVIEWS P JOIN USERS U USING(USERID)"
        );
    }

    #[test]
    fn catalog_statements_fold_to_lower_case() {
        let s = parse("SELECT C.RELNAME FROM pg_catalog.PG_CLASS c");
        assert_eq!(fold_for(&s, &is_pg_table), Fold::Lower);
        let s = parse("SELECT relname FROM pg_class WHERE relkind = 'r'");
        assert_eq!(fold_for(&s, &is_pg_table), Fold::Lower);
        let s = parse("SELECT version()");
        assert_eq!(fold_for(&s, &is_pg_table), Fold::Lower);
        let s = parse("WITH t AS (SELECT 1) SELECT * FROM t");
        assert_eq!(fold_for(&s, &is_pg_table), Fold::Lower);
        let s = parse("SELECT * FROM pg_class, pageviews");
        assert_eq!(fold_for(&s, &is_pg_table), Fold::Upper);
    }

    #[test]
    fn catalog_relations_keep_lower_case_in_upper_folded_statements() {
        let mut s = parse("SELECT * FROM information_schema.tables t, pageviews");
        fold_identifiers(&mut s, Fold::Upper);
        assert_eq!(s.to_string(), "SELECT * FROM information_schema.tables T, PAGEVIEWS");
    }

    #[test]
    fn table_functions_keep_lower_case_names() {
        let mut s = parse("SELECT * FROM pg_catalog.Generate_Series(1, 3) AS g");
        fold_identifiers(&mut s, Fold::Upper);
        assert_eq!(s.to_string(), "SELECT * FROM generate_series(1, 3) AS G");
    }

    #[test]
    fn pg_catalog_function_qualifiers_are_dropped() {
        let mut s = parse("SELECT pg_catalog.Format_Type(a, b)");
        fold_identifiers(&mut s, Fold::Lower);
        assert_eq!(s.to_string(), "SELECT format_type(a, b)");
    }

    #[test]
    fn labels_follow_postgres() {
        let s = parse("SELECT count(*), 1, x::text, a AS Total, \"B\" AS \"Mixed\", region, t.*, version()");
        let labels = output_labels(&s, Fold::Upper).unwrap();
        assert_eq!(
            labels,
            vec![
                Label::Named("count".into()),
                Label::Named("?column?".into()),
                Label::Named("X".into()),
                Label::Named("total".into()),
                Label::Named("Mixed".into()),
                Label::Planned,
                Label::Wildcard,
                Label::Named("version".into()),
            ]
        );
        let planned: Vec<String> = ["c", "one", "x", "TOTAL", "Mixed", "REGION", "A", "B", "v"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(
            apply_labels(&planned, &labels),
            [
                "count", "?column?", "X", "total", "Mixed", "REGION", "A", "B", "version"
            ]
        );
    }

    #[test]
    fn wildcards_over_sources_leave_out_pseudo_columns() {
        let is_source = |n: &str| n == "S" || n == "T";
        let mut s = parse("SELECT * FROM s");
        fold_identifiers(&mut s, Fold::Upper);
        exclude_pseudo_columns(&mut s, &is_source);
        assert_eq!(
            s.to_string(),
            "SELECT * EXCLUDE (ROWTIME, ROWPARTITION, ROWOFFSET) FROM S"
        );

        let mut s = parse("SELECT * FROM s a JOIN t b ON a.k = b.k");
        fold_identifiers(&mut s, Fold::Upper);
        exclude_pseudo_columns(&mut s, &is_source);
        assert_eq!(
            s.to_string(),
            "SELECT A.* EXCLUDE (ROWTIME, ROWPARTITION, ROWOFFSET), B.* EXCLUDE (ROWTIME, ROWPARTITION, ROWOFFSET) FROM S A JOIN T B ON A.K = B.K"
        );

        let mut s = parse("SELECT * FROM (SELECT rowtime FROM s) x");
        fold_identifiers(&mut s, Fold::Upper);
        exclude_pseudo_columns(&mut s, &is_source);
        assert_eq!(s.to_string(), "SELECT * FROM (SELECT ROWTIME FROM S) X");
    }
}
