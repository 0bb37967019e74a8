//! Grouped sums of exact decimals: the one way the analytics aggregate rows.
//!
//! On PostgreSQL the database groups and sums (`NUMERIC` arithmetic is exact). On SQLite a
//! `SUM` over decimal text would go through floats, so there the database groups and hands
//! back each group's values as their exact text (`group_concat`), and they are summed as
//! [`Decimal`] here. Both give the same groups and the same digits.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use sea_orm::sea_query::{Alias, Expr, Func, SelectStatement, SimpleExpr};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, QueryResult};

use crate::error::{ApiError, ApiResult};
use crate::exact::Exact;

/// How a group key is read back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyKind {
    Int,
    Text,
    /// A date column as it is (cheaper to group than its text).
    Date,
}

/// A group key value; `Null` sorts first.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Key {
    Null,
    Int(i64),
    Date(chrono::NaiveDate),
    Text(String),
}

impl Key {
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Key::Int(v) => Some(*v),
            _ => None,
        }
    }

    pub fn as_date(&self) -> Option<chrono::NaiveDate> {
        match self {
            Key::Date(v) => Some(*v),
            _ => None,
        }
    }

    pub fn as_text(&self) -> Option<&str> {
        match self {
            Key::Text(v) => Some(v),
            _ => None,
        }
    }

    pub fn into_text(self) -> Option<String> {
        match self {
            Key::Text(v) => Some(v),
            _ => None,
        }
    }
}

/// One group: its key values, its row count and the sum of each summed expression (of its
/// non-null values; zero when all are null).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    pub keys: Vec<Key>,
    pub count: i64,
    pub sums: Vec<Decimal>,
}

/// A grouped sum over `source` (a `SELECT` with its `FROM`, joins and conditions; its
/// select list is replaced).
pub struct Aggregation {
    pub source: SelectStatement,
    pub keys: Vec<(Expr, KeyKind)>,
    /// Exact decimal expressions: plain columns (SQLite reads their text).
    pub sums: Vec<Expr>,
}

/// The date column's text (`YYYY-MM-DD`), its month (`YYYY-MM`) or year (`YYYY`): the same
/// expression on both databases.
pub fn date_text(date: Expr, chars: u32) -> Expr {
    let text = Func::cast_as(date, Alias::new("TEXT"));
    Func::cust(Alias::new("SUBSTR"))
        .arg(text)
        .arg(1i32)
        .arg(chars as i32)
        .into()
}

/// `1` when `condition` holds, else `0`: a flag to group by.
pub fn flag(condition: SimpleExpr) -> Expr {
    Expr::case(condition, 1).finally(0).into()
}

fn read_key(row: &QueryResult, alias: &str, kind: KeyKind) -> ApiResult<Key> {
    Ok(match kind {
        KeyKind::Int => row
            .try_get::<Option<i64>>("", alias)?
            .map_or(Key::Null, Key::Int),
        KeyKind::Text => row
            .try_get::<Option<String>>("", alias)?
            .map_or(Key::Null, Key::Text),
        KeyKind::Date => row
            .try_get::<Option<chrono::NaiveDate>>("", alias)?
            .map_or(Key::Null, Key::Date),
    })
}

/// One value of a sum's text: a total beyond `Decimal`'s range is an overflow; a stored
/// value that does not parse is a corrupt row.
fn parse_sum(value: &str, is_total: bool) -> ApiResult<Decimal> {
    value.parse::<Decimal>().map_err(|e| {
        let digits_only = value
            .trim_start_matches('-')
            .chars()
            .all(|c| c.is_ascii_digit() || c == '.');
        if is_total && digits_only {
            ApiError::Overflow("a sum is too large to compute exactly".to_owned())
        } else {
            ApiError::internal("aggregate", format!("stored decimal {value:?}: {e}"))
        }
    })
}

/// Runs the aggregation; groups come back sorted by their keys.
pub async fn run(db: &DatabaseConnection, aggregation: Aggregation) -> ApiResult<Vec<Group>> {
    let Aggregation {
        mut source,
        keys,
        sums,
    } = aggregation;
    source.clear_selects();
    source.clear_order_by();
    for (i, (expr, kind)) in keys.iter().enumerate() {
        // Read back as what the key is, whatever width the database gives the expression.
        let expr = match kind {
            KeyKind::Int => Func::cast_as(expr.clone(), Alias::new("BIGINT")).into(),
            KeyKind::Text | KeyKind::Date => expr.clone(),
        };
        source.expr_as(expr, Alias::new(format!("k{i}")));
    }
    let in_database = db.get_database_backend() == DbBackend::Postgres;
    for (i, expr) in sums.iter().enumerate() {
        if in_database {
            // As text: a sum beyond `Decimal`'s range is then an overflow error, not a
            // failure to decode.
            let total = Func::cast_as(Func::sum(expr.clone()), Alias::new("TEXT"));
            source.expr_as(total, Alias::new(format!("s{i}")));
        } else {
            // The stored decimal texts, comma-separated (NULLs left out).
            let values = Func::cust(Alias::new("group_concat"))
                .arg(expr.clone())
                .arg(",");
            source.expr_as(values, Alias::new(format!("s{i}")));
        }
    }
    source.expr_as(Func::count(Expr::cust("*")), Alias::new("c"));
    // By position: the key expressions carry bound values, and PostgreSQL cannot tell
    // that `$1` in the select list and `$5` in GROUP BY are the same expression.
    source.add_group_by((1..=keys.len()).map(|i| Expr::cust(i.to_string())));
    let rows = db.query_all(&source).await?;

    let mut groups: BTreeMap<Vec<Key>, Group> = BTreeMap::new();
    for row in &rows {
        let key = keys
            .iter()
            .enumerate()
            .map(|(i, (_, kind))| read_key(row, &format!("k{i}"), *kind))
            .collect::<ApiResult<Vec<Key>>>()?;
        let group = groups.entry(key.clone()).or_insert_with(|| Group {
            keys: key,
            count: 0,
            sums: vec![Decimal::ZERO; sums.len()],
        });
        group.count += row.try_get::<i64>("", "c")?;
        for (i, sum) in group.sums.iter_mut().enumerate() {
            let alias = format!("s{i}");
            // PostgreSQL sent one exact total, SQLite every stored value of the group.
            if let Some(values) = row.try_get::<Option<String>>("", &alias)? {
                for value in values.split(',') {
                    sum.add_exact(parse_sum(value, in_database)?, "a sum")?;
                }
            }
        }
    }
    Ok(groups.into_values().collect())
}
