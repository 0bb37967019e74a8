//! Exact decimal arithmetic for figures: every operation is checked, so a figure beyond
//! `Decimal`'s 28 significant digits is an `ARITHMETIC_OVERFLOW` error for the request that
//! asked for it, never a panic and never a rounded number.

use rust_decimal::Decimal;

use crate::error::{ApiError, ApiResult};

/// Checked operations on `Decimal`, each naming the figure it computes in its error.
pub trait Exact: Sized {
    fn plus(self, other: Decimal, figure: &str) -> ApiResult<Decimal>;
    fn minus(self, other: Decimal, figure: &str) -> ApiResult<Decimal>;
    fn times(self, other: Decimal, figure: &str) -> ApiResult<Decimal>;
    fn over(self, other: Decimal, figure: &str) -> ApiResult<Decimal>;
    /// `self += other`, checked.
    fn add_exact(&mut self, other: Decimal, figure: &str) -> ApiResult<()>;
}

impl Exact for Decimal {
    fn plus(self, other: Decimal, figure: &str) -> ApiResult<Decimal> {
        ApiError::exact(self.checked_add(other), figure)
    }

    fn minus(self, other: Decimal, figure: &str) -> ApiResult<Decimal> {
        ApiError::exact(self.checked_sub(other), figure)
    }

    fn times(self, other: Decimal, figure: &str) -> ApiResult<Decimal> {
        ApiError::exact(self.checked_mul(other), figure)
    }

    fn over(self, other: Decimal, figure: &str) -> ApiResult<Decimal> {
        ApiError::exact(self.checked_div(other), figure)
    }

    fn add_exact(&mut self, other: Decimal, figure: &str) -> ApiResult<()> {
        *self = self.plus(other, figure)?;
        Ok(())
    }
}

/// Checks that `Σ|values| × factor` fits: a bound on every partial sum, difference and
/// `factor`-multiple of these values, so the arithmetic that follows cannot overflow and
/// needs no check of its own.
pub fn check_bound(
    values: impl IntoIterator<Item = Decimal>,
    factor: Decimal,
    figure: &str,
) -> ApiResult<()> {
    sum(values.into_iter().map(|v| v.abs()), figure)?.times(factor, figure)?;
    Ok(())
}

/// The exact sum of `values`.
pub fn sum(values: impl IntoIterator<Item = Decimal>, figure: &str) -> ApiResult<Decimal> {
    values
        .into_iter()
        .try_fold(Decimal::ZERO, |total, v| total.plus(v, figure))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_overflow_is_an_error_not_a_panic() {
        let big = Decimal::MAX;
        let err = big.plus(Decimal::ONE, "a total").unwrap_err();
        assert_eq!(err.code(), "ARITHMETIC_OVERFLOW");
        assert_eq!(err.message(), "a total is too large to compute exactly");
        assert!(sum([big, big], "a sum").is_err());
        assert_eq!(
            sum([Decimal::ONE, Decimal::TWO], "a sum").unwrap(),
            Decimal::from(3)
        );
    }
}
