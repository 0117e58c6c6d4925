//! Comparing produced records with expected ones the way ksqlDB's test tool does: numbers by value, struct field
//! names exact or upper-cased, `null` only equal to `null`.

use serde_json::Value;

/// Whether `actual` matches `expected`.
pub fn matches(expected: &Value, actual: &Value) -> bool {
    match (expected, actual) {
        (Value::Null, a) => a.is_null(),
        (Value::Object(e), Value::Object(a)) => {
            e.len() == a.len()
                && e.iter().all(|(k, ev)| {
                    a.get(k)
                        .or_else(|| a.get(&k.to_ascii_uppercase()))
                        .is_some_and(|av| matches(ev, av))
                })
        }
        (Value::Array(e), Value::Array(a)) => e.len() == a.len() && e.iter().zip(a).all(|(x, y)| matches(x, y)),
        (Value::String(e), Value::String(a)) => e == a,
        (Value::String(e), Value::Number(a)) => e.parse::<f64>().ok() == a.as_f64(),
        (Value::Number(e), Value::Number(a)) => numbers_equal(e, a),
        (Value::Bool(e), Value::Bool(a)) => e == a,
        _ => false,
    }
}

fn numbers_equal(e: &serde_json::Number, a: &serde_json::Number) -> bool {
    if let (Some(x), Some(y)) = (e.as_i64(), a.as_i64()) {
        return x == y;
    }
    match (e.as_f64(), a.as_f64()) {
        (Some(x), Some(y)) => x == y || (x - y).abs() <= f64::EPSILON * x.abs().max(y.abs()),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn qtt_comparison_rules() {
        assert!(matches(&json!(1), &json!(1.0)));
        assert!(matches(&json!({"name": "a"}), &json!({"NAME": "a"})));
        assert!(!matches(&json!({"A": 1}), &json!({"A": 1, "B": 2})));
        assert!(!matches(&json!(null), &json!(0)));
        assert!(matches(&json!("15.11"), &json!(15.11)));
        assert!(!matches(&json!([1, 2]), &json!([1])));
    }
}
