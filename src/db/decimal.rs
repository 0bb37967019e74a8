//! Exact decimals on both databases.
//!
//! PostgreSQL stores money and quantities as `NUMERIC`. SQLite has no exact decimal type
//! (sea-orm would read its `REAL` columns through `f64`), so there the columns have text
//! affinity and hold the decimal's own digits; [`Numeric`] reads that text back exactly, and
//! the `decimal` collation registered on every SQLite connection makes comparisons and
//! ordering numeric (`9.5` before `10`, negatives first). Columns the API orders or
//! range-filters by also keep a [`sort_key`] beside them, so that an ordinary index serves
//! those orders and ranges on SQLite ([`Keyed`]). Sums are always taken as [`Decimal`] in
//! Rust or as `NUMERIC` in PostgreSQL, never as floats.

use std::cmp::Ordering;
use std::str::FromStr;

use rust_decimal::Decimal;
use sea_orm::sea_query::{ArrayType, ColumnType, Expr, Nullable, Value, ValueType, ValueTypeErr};
use sea_orm::{ColIdx, DbBackend, DbErr, QueryResult, TryGetError, TryGetable};

/// Name of the SQLite collation that compares decimal text numerically.
pub const SQLITE_COLLATION: &str = "decimal";

/// A `Decimal` column value that round-trips exactly on PostgreSQL and SQLite.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Numeric(pub Decimal);

impl From<Decimal> for Numeric {
    fn from(value: Decimal) -> Self {
        Numeric(value)
    }
}

impl From<Numeric> for Decimal {
    fn from(value: Numeric) -> Self {
        value.0
    }
}

impl From<Numeric> for Value {
    /// Bound as a decimal: NUMERIC on PostgreSQL, and text on SQLite (sea-query's SQLite
    /// binder writes decimals as their string form, which the text column keeps as is).
    fn from(value: Numeric) -> Self {
        Value::Decimal(Some(value.0))
    }
}

impl Nullable for Numeric {
    fn null() -> Value {
        Value::Decimal(None)
    }
}

impl ValueType for Numeric {
    fn try_from(v: Value) -> Result<Self, ValueTypeErr> {
        match v {
            Value::Decimal(Some(d)) => Ok(Numeric(d)),
            Value::String(Some(s)) => Decimal::from_str(&s).map(Numeric).map_err(|_| ValueTypeErr),
            _ => Err(ValueTypeErr),
        }
    }

    fn type_name() -> String {
        "Numeric".to_owned()
    }

    fn array_type() -> ArrayType {
        ArrayType::Decimal
    }

    fn column_type() -> ColumnType {
        ColumnType::Decimal(None)
    }
}

impl TryGetable for Numeric {
    fn try_get_by<I: ColIdx>(res: &QueryResult, index: I) -> Result<Self, TryGetError> {
        if res.try_as_sqlite_row().is_some() {
            let text = String::try_get_by(res, index)?;
            Decimal::from_str(&text).map(Numeric).map_err(|e| {
                TryGetError::DbErr(DbErr::Type(format!("not an exact decimal: {text:?}: {e}")))
            })
        } else {
            Decimal::try_get_by(res, index).map(Numeric)
        }
    }
}

/// Numeric comparison of two decimal texts, for SQLite's `decimal` collation. Text that is
/// not a decimal sorts after every number, by its bytes, so the order stays total.
pub fn compare_decimal_text(a: &str, b: &str) -> Ordering {
    match (Decimal::from_str(a), Decimal::from_str(b)) {
        (Ok(x), Ok(y)) => x.cmp(&y),
        (Ok(_), Err(_)) => Ordering::Less,
        (Err(_), Ok(_)) => Ordering::Greater,
        (Err(_), Err(_)) => a.cmp(b),
    }
}

/// The expression to compare or order a decimal column by: the column itself on
/// PostgreSQL, the column under the `decimal` collation on SQLite.
pub fn comparable(backend: DbBackend, column: Expr) -> Expr {
    match backend {
        DbBackend::Sqlite => Expr::cust_with_expr(format!("? COLLATE {SQLITE_COLLATION}"), column),
        _ => column,
    }
}

/// The order key stored beside a decimal column: text whose byte order is numeric order
/// (see `migration::sort_key`, which owns the encoding because migrations write it too).
pub fn sort_key(value: Decimal) -> String {
    migration::sort_key::encode(value)
}

/// The value of a [`sort_key`].
pub fn from_sort_key(key: &str) -> Option<Decimal> {
    migration::sort_key::decode(key)
}

/// A decimal column with its [`sort_key`] column: PostgreSQL orders and compares the
/// `NUMERIC` itself, SQLite the key, so that on both an index serves the order and ranges.
#[derive(Clone, Debug)]
pub struct Keyed {
    pub value: Expr,
    pub key: Expr,
}

impl Keyed {
    /// Whether `backend` compares through the key column.
    pub fn by_key(backend: DbBackend) -> bool {
        backend == DbBackend::Sqlite
    }

    /// The expression to order and compare by.
    pub fn expr(&self, backend: DbBackend) -> Expr {
        if Self::by_key(backend) {
            self.key.clone()
        } else {
            self.value.clone()
        }
    }

    /// `value` as compared with [`Keyed::expr`].
    pub fn bind(backend: DbBackend, value: Decimal) -> Value {
        if Self::by_key(backend) {
            Value::from(sort_key(value))
        } else {
            Value::from(Numeric(value))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collation_orders_numbers_not_text() {
        let mut values = vec!["10", "9.5", "-2", "-10.25", "0.00000001", "1.10", "1.1"];
        values.sort_by(|a, b| compare_decimal_text(a, b));
        assert_eq!(
            values,
            vec!["-10.25", "-2", "0.00000001", "1.10", "1.1", "9.5", "10"]
        );
        assert_eq!(compare_decimal_text("1.10", "1.1"), Ordering::Equal);
        assert_eq!(compare_decimal_text("x", "1"), Ordering::Greater);
    }
}
