//! The DataFusion session Weir plans expressions with.
//!
//! ksqlDB's dialect differs from DataFusion's defaults in three ways that matter here, each handled once:
//! identifiers are already case-normalized by our parser (so DataFusion's lower-casing is off), `CAST` targets
//! are ksqlDB types (planned by [`KsqlTypePlanner`]), and function names are case-insensitive with ksqlDB names
//! (our function library is registered under lower-case names, and call sites are lower-cased before planning).

use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::common::Result as DfResult;
use datafusion::execution::SessionStateBuilder;
use datafusion::execution::context::SessionState;
use datafusion::logical_expr::planner::TypePlanner;
use datafusion::prelude::SessionConfig;
use datafusion::sql::sqlparser::ast;

use crate::functions;

/// Plans `DataType::Custom` names (how our parser encodes every `CAST` target) as ksqlDB types.
#[derive(Debug, Default)]
pub struct KsqlTypePlanner;

impl TypePlanner for KsqlTypePlanner {
    fn plan_type_field(&self, sql_type: &ast::DataType) -> DfResult<Option<FieldRef>> {
        let ast::DataType::Custom(name, modifiers) = sql_type else {
            return Ok(None);
        };
        if !modifiers.is_empty() || name.0.len() != 1 {
            return Ok(None);
        }
        let text = name.to_string();
        let text = text.trim_matches('"');
        match crate::sql::parse_type(text) {
            Ok(ty) => Ok(Some(Arc::new(Field::new("", ty.to_arrow(), true)))),
            Err(e) => Err(datafusion::error::DataFusionError::Plan(format!(
                "Unknown type in CAST: {text} ({})",
                e.message
            ))),
        }
    }
}

/// Builds the session used to resolve, type and compile expressions.
pub fn new_session_state() -> SessionState {
    let mut config = SessionConfig::new();
    {
        let options = config.options_mut();
        options.sql_parser.enable_ident_normalization = false;
        options.sql_parser.map_string_types_to_utf8view = false;
        // ksqlDB: `1.5` is DECIMAL(2, 1); `1.5E0` is DOUBLE.
        options.sql_parser.parse_float_as_decimal = true;
        options.execution.time_zone = None;
    }
    let builder = SessionStateBuilder::new()
        .with_config(config)
        .with_default_features()
        .with_type_planner(Arc::new(KsqlTypePlanner));
    // ksqlDB's functions replace DataFusion built-ins of the same name; its planner handles SUBSTRING(... FROM ...).
    functions::install(builder).build()
}

/// The Arrow type of a `CAST` target, exposed for tests.
pub fn cast_target_type(text: &str) -> Option<DataType> {
    crate::sql::parse_type(text).ok().map(|t| t.to_arrow())
}
