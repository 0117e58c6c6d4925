//! The `pg_catalog` functions Postgres tools call (`format_type`, `pg_table_is_visible`, `pg_get_userbyid`, ...)
//! as DataFusion scalar UDFs. Functions about objects Weir does not have (indexes, constraints, triggers) return
//! NULL; privilege checks return true (Weir has one role); sizes are 0.
//!
//! Functions that depend on the connection (`current_user`, `current_database()`, `version()`, ...) are not
//! here: the rewriter replaces them by literals (see [`super::rewrite`]).

use std::collections::{BTreeMap, BTreeSet};
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, BooleanArray, Int64Array, StringArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result;
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, TypeSignature, Volatility,
};
use datafusion::scalar::ScalarValue;

use super::pg_types;
use super::relations::{OWNER_NAME, OWNER_OID};

/// Catalog facts some functions need, shared by the functions of one catalog snapshot.
#[derive(Debug, Default)]
pub struct FunctionData {
    /// OIDs of relations in schemas on the search path (`pg_catalog`, `public`).
    pub visible: BTreeSet<i64>,
    /// View definitions by OID (`pg_get_viewdef`).
    pub view_definitions: BTreeMap<i64, String>,
    /// Every relation: namespace OID, name, OID (`regclass` from a name).
    pub relations: Vec<(i64, String, i64)>,
}

impl FunctionData {
    /// The OID of the relation a (possibly qualified, possibly quoted) name denotes: quoted parts match
    /// exactly, unquoted ones ignore case; without a schema, `public` and `pg_catalog` are searched.
    pub fn relation_oid(&self, text: &str) -> Option<i64> {
        let parts = super::rewrite::split_qualified_name(text);
        let ((name, quoted), schema) = match parts.as_slice() {
            [n] => (n.clone(), None),
            [s, n] | [_, s, n] => (n.clone(), Some(s.0.to_lowercase())),
            _ => return None,
        };
        let namespace = match schema.as_deref() {
            None => None,
            Some("pg_catalog") => Some(super::relations::PG_CATALOG_NAMESPACE),
            Some("public") => Some(super::relations::PUBLIC_NAMESPACE),
            Some("information_schema") => Some(super::relations::INFORMATION_SCHEMA_NAMESPACE),
            Some(_) => return None,
        };
        self.relations
            .iter()
            .filter(|(ns, n, _)| {
                let name_ok = if quoted {
                    *n == name
                } else {
                    n.eq_ignore_ascii_case(&name)
                };
                let ns_ok = match namespace {
                    Some(want) => *ns == want,
                    None => *ns == super::relations::PUBLIC_NAMESPACE || *ns == super::relations::PG_CATALOG_NAMESPACE,
                };
                name_ok && ns_ok
            })
            .min_by_key(|(_, n, _)| *n != name)
            .map(|(_, _, oid)| *oid)
    }
}

/// Compares by identity: one snapshot's data is equal only to itself.
#[derive(Debug, Clone)]
struct Shared(Arc<FunctionData>);

impl PartialEq for Shared {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for Shared {}

impl Hash for Shared {
    fn hash<H: Hasher>(&self, state: &mut H) {
        (Arc::as_ptr(&self.0) as usize).hash(state);
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    FormatType,
    UserById,
    TableIsVisible,
    AlwaysTrue,
    NullText,
    ViewDef,
    EncodingToChar,
    Zero,
    SizePretty,
    QuoteIdent,
    AlwaysFalse,
    /// `x::regclass` of a non-literal: a name becomes its OID (error if unknown), a number stays.
    RegClass,
    /// `to_regclass(name)`: the OID, or NULL.
    ToRegClass,
    /// `x::regtype` / `to_regtype(name)`.
    RegType,
    ToRegType,
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct PgFunction {
    name: &'static str,
    kind: Kind,
    signature: Signature,
    data: Shared,
}

/// Every function, bound to one snapshot's `data`.
pub fn all(data: Arc<FunctionData>) -> Vec<Arc<ScalarUDF>> {
    let anything = || {
        Signature::one_of(
            vec![TypeSignature::Nullary, TypeSignature::VariadicAny],
            Volatility::Stable,
        )
    };
    let table: &[(&'static str, Kind)] = &[
        ("format_type", Kind::FormatType),
        ("pg_get_userbyid", Kind::UserById),
        ("pg_table_is_visible", Kind::TableIsVisible),
        ("pg_type_is_visible", Kind::AlwaysTrue),
        ("pg_function_is_visible", Kind::AlwaysTrue),
        ("pg_collation_is_visible", Kind::AlwaysTrue),
        ("pg_opclass_is_visible", Kind::AlwaysTrue),
        ("pg_operator_is_visible", Kind::AlwaysTrue),
        ("pg_conversion_is_visible", Kind::AlwaysTrue),
        ("pg_ts_config_is_visible", Kind::AlwaysTrue),
        ("has_table_privilege", Kind::AlwaysTrue),
        ("has_schema_privilege", Kind::AlwaysTrue),
        ("has_database_privilege", Kind::AlwaysTrue),
        ("has_column_privilege", Kind::AlwaysTrue),
        ("has_any_column_privilege", Kind::AlwaysTrue),
        ("has_function_privilege", Kind::AlwaysTrue),
        ("has_sequence_privilege", Kind::AlwaysTrue),
        ("pg_has_role", Kind::AlwaysTrue),
        ("pg_get_expr", Kind::NullText),
        ("pg_get_indexdef", Kind::NullText),
        ("pg_get_constraintdef", Kind::NullText),
        ("pg_get_triggerdef", Kind::NullText),
        ("pg_get_ruledef", Kind::NullText),
        ("pg_get_partkeydef", Kind::NullText),
        ("pg_get_partition_constraintdef", Kind::NullText),
        ("pg_get_statisticsobjdef_columns", Kind::NullText),
        ("pg_get_serial_sequence", Kind::NullText),
        ("pg_get_function_arguments", Kind::NullText),
        ("pg_get_function_identity_arguments", Kind::NullText),
        ("pg_get_function_result", Kind::NullText),
        ("shobj_description", Kind::NullText),
        ("pg_get_viewdef", Kind::ViewDef),
        ("pg_encoding_to_char", Kind::EncodingToChar),
        ("pg_relation_size", Kind::Zero),
        ("pg_total_relation_size", Kind::Zero),
        ("pg_table_size", Kind::Zero),
        ("pg_indexes_size", Kind::Zero),
        ("pg_database_size", Kind::Zero),
        ("pg_size_pretty", Kind::SizePretty),
        ("quote_ident", Kind::QuoteIdent),
        ("pg_is_in_recovery", Kind::AlwaysFalse),
        ("weir_regclass", Kind::RegClass),
        ("to_regclass", Kind::ToRegClass),
        ("weir_regtype", Kind::RegType),
        ("to_regtype", Kind::ToRegType),
        ("pg_relation_is_publishable", Kind::AlwaysFalse),
    ];
    table
        .iter()
        .map(|(name, kind)| {
            Arc::new(ScalarUDF::new_from_impl(PgFunction {
                name,
                kind: *kind,
                signature: anything(),
                data: Shared(data.clone()),
            }))
        })
        .collect()
}

impl ScalarUDFImpl for PgFunction {
    fn name(&self) -> &str {
        self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(match self.kind {
            Kind::TableIsVisible | Kind::AlwaysTrue | Kind::AlwaysFalse => DataType::Boolean,
            Kind::Zero | Kind::RegClass | Kind::ToRegClass | Kind::RegType | Kind::ToRegType => DataType::Int64,
            _ => DataType::Utf8,
        })
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let scalar = |v: ScalarValue| Ok(ColumnarValue::Scalar(v));
        match self.kind {
            Kind::AlwaysTrue => scalar(ScalarValue::Boolean(Some(true))),
            Kind::AlwaysFalse => scalar(ScalarValue::Boolean(Some(false))),
            Kind::NullText => scalar(ScalarValue::Utf8(None)),
            Kind::Zero => scalar(ScalarValue::Int64(Some(0))),
            Kind::EncodingToChar => scalar(ScalarValue::Utf8(Some("UTF8".into()))),
            Kind::FormatType => {
                let oids = int_arg(&args.args, 0, rows)?;
                let mods = int_arg(&args.args, 1, rows)?;
                let out: StringArray = (0..rows)
                    .map(|i| {
                        let oid = value(&oids, i)?;
                        let typmod = value(&mods, i).and_then(|m| i32::try_from(m).ok());
                        let oid = u32::try_from(oid).ok()?;
                        Some(pg_types::format_type(oid, typmod).unwrap_or_else(|| "???".to_string()))
                    })
                    .collect();
                Ok(ColumnarValue::Array(Arc::new(out)))
            }
            Kind::UserById => {
                let oids = int_arg(&args.args, 0, rows)?;
                let out: StringArray = (0..rows)
                    .map(|i| {
                        value(&oids, i).map(|oid| {
                            if oid == OWNER_OID {
                                OWNER_NAME.to_string()
                            } else {
                                format!("unknown (OID={oid})")
                            }
                        })
                    })
                    .collect();
                Ok(ColumnarValue::Array(Arc::new(out)))
            }
            Kind::TableIsVisible => {
                let oids = int_arg(&args.args, 0, rows)?;
                let out: BooleanArray = (0..rows)
                    .map(|i| value(&oids, i).map(|oid| self.data.0.visible.contains(&oid)))
                    .collect();
                Ok(ColumnarValue::Array(Arc::new(out)))
            }
            Kind::ViewDef => {
                let oids = int_arg(&args.args, 0, rows)?;
                let out: StringArray = (0..rows)
                    .map(|i| value(&oids, i).and_then(|oid| self.data.0.view_definitions.get(&oid).cloned()))
                    .collect();
                Ok(ColumnarValue::Array(Arc::new(out)))
            }
            Kind::SizePretty => {
                let sizes = int_arg(&args.args, 0, rows)?;
                let out: StringArray = (0..rows)
                    .map(|i| value(&sizes, i).map(|n| format!("{n} bytes")))
                    .collect();
                Ok(ColumnarValue::Array(Arc::new(out)))
            }
            Kind::RegClass | Kind::ToRegClass | Kind::RegType | Kind::ToRegType => {
                let Some(arg) = args.args.first() else {
                    return scalar(ScalarValue::Int64(None));
                };
                let array = arg.clone().into_array(rows)?;
                let by_name = !matches!(
                    array.data_type(),
                    DataType::Int8
                        | DataType::Int16
                        | DataType::Int32
                        | DataType::Int64
                        | DataType::UInt32
                        | DataType::UInt64
                );
                if !by_name {
                    return Ok(ColumnarValue::Array(cast(&array, &DataType::Int64)?));
                }
                let texts = text_arg(&args.args, 0, rows)?;
                let mut out = Vec::with_capacity(rows);
                for i in 0..rows {
                    if texts.is_null(i) {
                        out.push(None);
                        continue;
                    }
                    let name = texts.value(i);
                    let oid = match self.kind {
                        Kind::RegClass | Kind::ToRegClass => self.data.0.relation_oid(name),
                        _ => pg_types::by_name(name.trim_matches('"')).map(|t| i64::from(t.oid)),
                    };
                    match (oid, self.kind) {
                        (Some(o), _) => out.push(Some(o)),
                        (None, Kind::RegClass) => {
                            return Err(datafusion::error::DataFusionError::External(Box::new(
                                super::ServeError::new(
                                    super::ServeErrorClass::UndefinedTable,
                                    format!("relation \"{name}\" does not exist"),
                                ),
                            )));
                        }
                        (None, Kind::RegType) => {
                            return Err(datafusion::error::DataFusionError::External(Box::new(
                                super::ServeError::new(
                                    super::ServeErrorClass::UndefinedObject,
                                    format!("type \"{name}\" does not exist"),
                                ),
                            )));
                        }
                        (None, _) => out.push(None),
                    }
                }
                Ok(ColumnarValue::Array(Arc::new(Int64Array::from(out))))
            }
            Kind::QuoteIdent => {
                let texts = text_arg(&args.args, 0, rows)?;
                let out: StringArray = (0..rows)
                    .map(|i| (!texts.is_null(i)).then(|| quote_ident(texts.value(i))))
                    .collect();
                Ok(ColumnarValue::Array(Arc::new(out)))
            }
        }
    }
}

/// Argument `i` as 64-bit integers (NULL when absent or not numeric).
fn int_arg(args: &[ColumnarValue], i: usize, rows: usize) -> Result<Int64Array> {
    let Some(arg) = args.get(i) else {
        return Ok(Int64Array::new_null(rows));
    };
    let array = arg.clone().into_array(rows)?;
    let casted = cast(&array, &DataType::Int64).unwrap_or_else(|_| Arc::new(Int64Array::new_null(rows)) as ArrayRef);
    Ok(casted
        .as_any()
        .downcast_ref::<Int64Array>()
        .cloned()
        .unwrap_or_else(|| Int64Array::new_null(rows)))
}

fn text_arg(args: &[ColumnarValue], i: usize, rows: usize) -> Result<StringArray> {
    let Some(arg) = args.get(i) else {
        return Ok(StringArray::new_null(rows));
    };
    let array = arg.clone().into_array(rows)?;
    let casted = cast(&array, &DataType::Utf8)?;
    Ok(casted
        .as_any()
        .downcast_ref::<StringArray>()
        .cloned()
        .unwrap_or_else(|| StringArray::new_null(rows)))
}

fn value(a: &Int64Array, i: usize) -> Option<i64> {
    (i < a.len() && !a.is_null(i)).then(|| a.value(i))
}

/// Quotes an identifier the way Postgres' `quote_ident` does: only when it is not a plain lower-case name.
pub fn quote_ident(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars().next().is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if plain {
        s.to_string()
    } else {
        format!("\"{}\"", s.replace('"', "\"\""))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quote_ident_quotes_only_when_needed() {
        assert_eq!(quote_ident("pageviews"), "pageviews");
        assert_eq!(quote_ident("PAGEVIEWS"), "\"PAGEVIEWS\"");
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
    }
}
