//! A security's price history: the institution's price from each day's holding snapshots,
//! and the close price Plaid reported with them (and on the security itself).

use crate::db::scope::UserScope;
use std::collections::BTreeMap;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use sea_orm::{ColumnTrait, QueryFilter, QueryOrder};

use crate::db::entities::{holding_snapshots as snapshots, securities};
use crate::error::ApiResult;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PriceSource {
    /// The institution's price of the holding (`institution_price`).
    Institution,
    /// Plaid's close price of the security.
    Close,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PricePoint {
    pub date: NaiveDate,
    pub price: Decimal,
    pub source: PriceSource,
}

/// Points in `[from, to]`, by date then source. Where several accounts hold the security on
/// one day, the institution price of the lowest account id stands for the day.
pub async fn price_history(
    user: &UserScope,
    security: &securities::Model,
    from: NaiveDate,
    to: NaiveDate,
) -> ApiResult<Vec<PricePoint>> {
    super::history::check_range(from, to)?;
    let rows = user
        .select::<snapshots::Entity>()
        .filter(snapshots::Column::SecurityId.eq(security.id))
        .filter(snapshots::Column::AsOf.between(from, to))
        .order_by_asc(snapshots::Column::AsOf)
        .order_by_asc(snapshots::Column::AccountId)
        .all(user.connection())
        .await?;
    let mut points: BTreeMap<(NaiveDate, PriceSource), Decimal> = BTreeMap::new();
    for row in rows {
        points
            .entry((row.as_of, PriceSource::Institution))
            .or_insert(row.institution_price.0);
        if let Some(close) = row.close_price {
            points
                .entry((row.as_of, PriceSource::Close))
                .or_insert(close.0);
        }
    }
    if let (Some(close), Some(date)) = (security.close_price, security.close_price_as_of)
        && (from..=to).contains(&date)
    {
        points.entry((date, PriceSource::Close)).or_insert(close.0);
    }
    Ok(points
        .into_iter()
        .map(|((date, source), price)| PricePoint {
            date,
            price,
            source,
        })
        .collect())
}
