//! Evaluating physical expressions over a batch without letting one bad row fail the rest.
//!
//! The fast path evaluates the whole batch at once. Only when that fails (a division by zero, a bad cast, ...)
//! are the rows evaluated one by one, so the failing rows can be dead-lettered and the others go on.

use datafusion::arrow::array::{Array, ArrayRef, BooleanArray, new_null_array};
use datafusion::arrow::compute::concat;
use datafusion::arrow::datatypes::DataType;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::physical_expr::PhysicalExpr;

/// A row that failed, with the reason.
#[derive(Debug, Clone, PartialEq)]
pub struct RowFailure {
    pub row: usize,
    pub message: String,
}

/// Evaluates `expr` on every row of `batch`. Failing rows get a null and are listed in the second result.
pub fn evaluate_isolating(
    expr: &dyn PhysicalExpr,
    batch: &RecordBatch,
    data_type: &DataType,
) -> (ArrayRef, Vec<RowFailure>) {
    let rows = batch.num_rows();
    match expr.evaluate(batch).and_then(|v| v.into_array(rows)) {
        Ok(array) => (array, vec![]),
        Err(_) if rows == 0 => (new_null_array(data_type, 0), vec![]),
        Err(_) => evaluate_row_by_row(expr, batch, data_type),
    }
}

fn evaluate_row_by_row(
    expr: &dyn PhysicalExpr,
    batch: &RecordBatch,
    data_type: &DataType,
) -> (ArrayRef, Vec<RowFailure>) {
    let mut pieces: Vec<ArrayRef> = Vec::with_capacity(batch.num_rows());
    let mut failures = Vec::new();
    for row in 0..batch.num_rows() {
        let one = batch.slice(row, 1);
        match expr.evaluate(&one).and_then(|v| v.into_array(1)) {
            Ok(a) if a.data_type() == data_type => pieces.push(a),
            Ok(a) => {
                failures.push(RowFailure {
                    row,
                    message: format!("expression produced {} where {} was expected", a.data_type(), data_type),
                });
                pieces.push(new_null_array(data_type, 1));
            }
            Err(e) => {
                failures.push(RowFailure {
                    row,
                    message: first_line(&e.to_string()),
                });
                pieces.push(new_null_array(data_type, 1));
            }
        }
    }
    let refs: Vec<&dyn Array> = pieces.iter().map(|a| a.as_ref()).collect();
    match concat(&refs) {
        Ok(a) => (a, failures),
        Err(e) => {
            // Unreachable in practice (all pieces share a type); fail every row rather than panic.
            let message = format!("cannot assemble expression results: {e}");
            let failures = (0..batch.num_rows())
                .map(|row| RowFailure {
                    row,
                    message: message.clone(),
                })
                .collect();
            (new_null_array(data_type, batch.num_rows()), failures)
        }
    }
}

/// Evaluates a predicate: the mask of rows where it is true (null and false both drop the row), plus failures.
pub fn evaluate_predicate(expr: &dyn PhysicalExpr, batch: &RecordBatch) -> (BooleanArray, Vec<RowFailure>) {
    let (array, mut failures) = evaluate_isolating(expr, batch, &DataType::Boolean);
    match array.as_any().downcast_ref::<BooleanArray>() {
        Some(b) => {
            // Treat null as false so filtering never keeps unknown rows.
            let mask: BooleanArray = b.iter().map(|v| Some(v.unwrap_or(false))).collect();
            (mask, failures)
        }
        None => {
            failures = (0..batch.num_rows())
                .map(|row| RowFailure {
                    row,
                    message: format!("WHERE clause produced {} instead of BOOLEAN", array.data_type()),
                })
                .collect();
            (BooleanArray::from(vec![false; batch.num_rows()]), failures)
        }
    }
}

/// Strips DataFusion's multi-line context from an error message.
pub fn first_line(m: &str) -> String {
    m.lines().next().unwrap_or(m).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::Int32Array;
    use datafusion::arrow::datatypes::{Field, Schema};
    use datafusion::logical_expr::Operator;
    use datafusion::physical_expr::expressions::{BinaryExpr, Column, Literal};
    use datafusion::scalar::ScalarValue;
    use std::sync::Arc;

    #[test]
    fn one_bad_row_does_not_fail_the_batch() {
        let schema = Arc::new(Schema::new(vec![Field::new("A", DataType::Int32, true)]));
        let batch = RecordBatch::try_new(schema, vec![Arc::new(Int32Array::from(vec![1, 0, 4]))]).unwrap();
        // 12 / A fails on the row where A = 0.
        let expr = BinaryExpr::new(
            Arc::new(Literal::new(ScalarValue::Int32(Some(12)))),
            Operator::Divide,
            Arc::new(Column::new("A", 0)),
        );
        let (out, failures) = evaluate_isolating(&expr, &batch, &DataType::Int32);
        assert_eq!(failures.len(), 1);
        assert_eq!(failures[0].row, 1);
        assert!(
            failures[0].message.to_lowercase().contains("divide by zero"),
            "{}",
            failures[0].message
        );
        let out = out.as_any().downcast_ref::<Int32Array>().unwrap();
        assert_eq!(out.value(0), 12);
        assert!(out.is_null(1));
        assert_eq!(out.value(2), 3);
    }
}
