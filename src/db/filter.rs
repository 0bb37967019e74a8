//! Domain filters and the one place they become SQL conditions.
//!
//! GraphQL inputs convert into these types; each query module combines them with its own
//! columns through the builders below, so that every listing filters the same way.

use crate::domain::{Range, TextMatch};
use rust_decimal::Decimal;
use sea_orm::sea_query::{Expr, Func, LikeExpr, SelectStatement};
use sea_orm::{Condition, DbBackend, ExprTrait, Value};

use super::decimal::Keyed;

/// A condition that no row satisfies (an empty `IN` list).
pub fn nothing() -> Condition {
    Condition::all().add(Expr::cust("1 = 0"))
}

/// `expr IN (ids)`; an empty list matches nothing.
pub fn in_ids(expr: Expr, ids: &[i64]) -> Condition {
    if ids.is_empty() {
        return nothing();
    }
    Condition::all().add(expr.is_in(ids.iter().copied()))
}

/// `expr IN (subquery)`.
pub fn in_subquery(expr: Expr, subquery: SelectStatement) -> Condition {
    Condition::all().add(expr.in_subquery(subquery))
}

/// Escapes `%`, `_` and `\` so user text is matched literally by `LIKE ... ESCAPE '\'`.
fn like_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for c in text.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

pub fn text(expr: Expr, m: &TextMatch) -> Condition {
    let mut cond = Condition::all();
    if let Some(eq) = &m.eq {
        cond = cond.add(expr.clone().eq(eq.as_str()));
    }
    if let Some(values) = &m.any_of {
        cond = if values.is_empty() {
            cond.add(nothing())
        } else {
            cond.add(expr.clone().is_in(values.iter().map(String::as_str)))
        };
    }
    if let Some(needle) = &m.contains {
        cond = cond.add(
            Expr::expr(Func::lower(expr)).like(LikeExpr::new(like_pattern(needle)).escape('\\')),
        );
    }
    cond
}

fn range_of<T: Clone>(expr: Expr, r: &Range<T>, value: impl Fn(T) -> Value) -> Condition {
    let mut cond = Condition::all();
    if let Some(v) = &r.eq {
        cond = cond.add(expr.clone().eq(value(v.clone())));
    }
    if let Some(v) = &r.gt {
        cond = cond.add(expr.clone().gt(value(v.clone())));
    }
    if let Some(v) = &r.gte {
        cond = cond.add(expr.clone().gte(value(v.clone())));
    }
    if let Some(v) = &r.lt {
        cond = cond.add(expr.clone().lt(value(v.clone())));
    }
    if let Some(v) = &r.lte {
        cond = cond.add(expr.clone().lte(value(v.clone())));
    }
    cond
}

/// Bounds on a date (or any natively ordered) column.
pub fn range<T: Clone + Into<Value>>(expr: Expr, r: &Range<T>) -> Condition {
    range_of(expr, r, Into::into)
}

/// Bounds on an exact decimal column, compared as numbers on both databases through an
/// index (see [`Keyed`]).
pub fn decimal_range(backend: DbBackend, column: &Keyed, r: &Range<Decimal>) -> Condition {
    range_of(column.expr(backend), r, |d| Keyed::bind(backend, d))
}

#[cfg(test)]
mod tests {
    use super::like_pattern;

    #[test]
    fn like_pattern_matches_literally() {
        assert_eq!(like_pattern("50%_Off\\"), "%50\\%\\_off\\\\%");
    }
}
