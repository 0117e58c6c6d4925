//! Test helpers that evaluate SQL through a DataFusion session with ksqlDB's functions installed, so every
//! test exercises planning (type coercion, constant folding of literal calls) and execution on arrays.

use datafusion::arrow::array::{Array, ArrayRef};
use datafusion::arrow::datatypes::DataType;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::arrow::util::display::array_value_to_string;
use datafusion::common::Result;

use super::session_context;

fn run(sql: &str) -> Result<Vec<RecordBatch>> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async {
        let ctx = session_context();
        ctx.sql(sql).await?.collect().await
    })
}

/// A query as is, or an expression wrapped in `SELECT`.
fn query(sql_or_expr: &str) -> String {
    if sql_or_expr.trim_start().to_ascii_uppercase().starts_with("SELECT ") {
        sql_or_expr.to_string()
    } else {
        format!("SELECT {sql_or_expr}")
    }
}

fn render(column: &ArrayRef, row: usize) -> String {
    if column.logical_nulls().is_some_and(|n| n.is_null(row)) {
        "NULL".to_string()
    } else {
        array_value_to_string(column, row).expect("displayable value")
    }
}

/// The first column of every row, rendered (`NULL` for nulls, lists as `[a, b]`).
pub(crate) fn rows(sql: &str) -> Vec<String> {
    let batches = run(&query(sql)).unwrap_or_else(|e| panic!("{sql}: {e}"));
    batches
        .iter()
        .flat_map(|b| (0..b.num_rows()).map(move |r| render(b.column(0), r)))
        .collect()
}

/// The single value of `SELECT expr`, rendered.
pub(crate) fn eval(expr: &str) -> String {
    let got = rows(expr);
    assert_eq!(got.len(), 1, "{expr} returned {got:?}");
    got.into_iter().next().unwrap_or_default()
}

/// The result type of `SELECT expr`.
pub(crate) fn eval_type(expr: &str) -> DataType {
    let batches = run(&query(expr)).unwrap_or_else(|e| panic!("{expr}: {e}"));
    batches[0].schema().field(0).data_type().clone()
}

/// The error message of a query or expression that must fail.
pub(crate) fn eval_err(sql_or_expr: &str) -> String {
    match run(&query(sql_or_expr)) {
        Ok(batches) => panic!("{sql_or_expr} should fail, returned {batches:?}"),
        Err(e) => e.to_string(),
    }
}

/// Evaluates a query or expression, returning its rendered rows or the error.
pub(crate) fn try_eval(sql_or_expr: &str) -> Result<Vec<String>> {
    let batches = run(&query(sql_or_expr))?;
    Ok(batches
        .iter()
        .flat_map(|b| (0..b.num_rows()).map(move |r| render(b.column(0), r)))
        .collect())
}
