//! One vocabulary: what a Plaid investment transaction's `type`/`subtype` means to the
//! sync and the analytics (a trade, an external flow, income, a cost, a change of units, a
//! cancel), and the stored values of item statuses, sync triggers and run outcomes. No
//! other module matches those strings, so a rule changes in one place for the sync, the
//! returns, the realized gains, the summaries and the API alike.
//!
//! Amounts keep Plaid's sign: positive when cash leaves the account (a purchase, a fee),
//! negative when it comes in (a sale, a dividend, a deposit).

use rust_decimal::Decimal;

/// The `type` (and `subtype`) of a `cancel` row: it reverses another transaction.
pub const CANCEL: &str = "cancel";

/// The side of a trade, for the average-cost replay.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TradeSide {
    /// Acquires units (or covers a short beyond what is long).
    Buy,
    /// `buy to cover`: only closes a short position.
    BuyToCover,
    /// Disposes of units.
    Sell,
    /// `sell short`: may open or extend a short position.
    SellShort,
}

impl TradeSide {
    /// True for the sides that acquire units; within a day they come first.
    pub fn acquires(self) -> bool {
        matches!(self, TradeSide::Buy | TradeSide::BuyToCover)
    }
}

/// Units that change without a trade.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnitChange {
    /// Splits, reverse splits, stock distributions, mergers and spin-offs, and rows that
    /// carry a quantity but no cash: the units change, the cost basis stays with them.
    Reshape,
    /// Securities moved in (positive quantity) or out (negative) of the account.
    Transfer,
}

/// What one transaction is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Meaning {
    Trade(TradeSide),
    /// Money into or out of the portfolio from outside (deposits, contributions,
    /// withdrawals, cash transfers).
    ExternalFlow,
    Income(Series),
    Cost(Series),
    Units(UnitChange),
    Cancel,
    /// Everything else (pending cash, adjustments with no units...).
    Other,
}

/// A named series of the monthly income and costs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Series {
    Dividends,
    Interest,
    CapitalGains,
    Fees,
    Taxes,
    Contributions,
    Withdrawals,
}

/// The trade a (type, subtype) is, if it is one.
pub fn trade_side(kind: &str, subtype: &str) -> Option<TradeSide> {
    match (kind, subtype) {
        ("buy", "buy to cover") => Some(TradeSide::BuyToCover),
        ("buy", _) => Some(TradeSide::Buy),
        ("sell", "sell short") => Some(TradeSide::SellShort),
        ("sell", _) => Some(TradeSide::Sell),
        _ => None,
    }
}

/// The stored `type` values of trades (for a SQL filter).
pub const TRADE_TYPES: [&str; 2] = ["buy", "sell"];

/// How a row changes units without a trade. `has_security`, `quantity` and `amount` are
/// the row's: a row of any other type that moves units of a security and no cash is a
/// reshape too (Plaid reports some splits that way).
pub fn unit_change(
    kind: &str,
    subtype: &str,
    has_security: bool,
    quantity: Decimal,
    amount: Decimal,
) -> Option<UnitChange> {
    if !has_security || quantity.is_zero() || trade_side(kind, subtype).is_some() || kind == CANCEL
    {
        return None;
    }
    match (kind, subtype) {
        (_, "split" | "merger" | "spin off" | "stock distribution") => Some(UnitChange::Reshape),
        ("transfer", "transfer" | "send" | "request" | "trade") => Some(UnitChange::Transfer),
        _ if amount.is_zero() => Some(UnitChange::Reshape),
        _ => None,
    }
}

/// The series a (type, subtype) counts in, and the sign that makes the series positive:
/// income and contributions as money received, fees, taxes and withdrawals as money paid.
pub fn series_of(kind: &str, subtype: &str) -> Option<(Series, Decimal)> {
    let received = Decimal::NEGATIVE_ONE;
    let paid = Decimal::ONE;
    Some(match (kind, subtype) {
        ("cash" | "fee", "dividend" | "qualified dividend" | "non-qualified dividend") => {
            (Series::Dividends, received)
        }
        ("cash" | "fee", "interest" | "interest receivable") => (Series::Interest, received),
        (
            "cash" | "fee",
            "long-term capital gain" | "short-term capital gain" | "unqualified gain",
        ) => (Series::CapitalGains, received),
        (
            "cash" | "fee",
            "account fee" | "legal fee" | "management fee" | "margin expense" | "transfer fee"
            | "trust fee" | "fund fee" | "miscellaneous fee",
        ) => (Series::Fees, paid),
        ("cash" | "fee", "tax" | "tax withheld" | "non-resident tax") => (Series::Taxes, paid),
        ("cash", "contribution" | "deposit") => (Series::Contributions, received),
        ("buy", "contribution") => (Series::Contributions, paid),
        ("cash", "withdrawal") => (Series::Withdrawals, paid),
        _ => return None,
    })
}

/// The stored `type` and `subtype` values among which every external flow is (for a SQL
/// filter; [`external_flow`] decides).
pub const FLOW_TYPES: [&str; 3] = ["cash", "buy", "transfer"];
pub const FLOW_SUBTYPES: [&str; 6] = [
    "contribution",
    "deposit",
    "withdrawal",
    "transfer",
    "send",
    "request",
];

/// The money a transaction brings into the portfolio from outside (negative when it takes
/// money out), or `None` when it is not an external flow.
///
/// A deposit (negative amount) is an inflow of `-amount`; a combined contribution and
/// purchase (`buy` / `contribution`) is reported positive and is an inflow of `amount`. A
/// transfer of securities that carries no cash is valued at `quantity × price` (units in
/// are an inflow), so that the units it brings are not counted as gain.
pub fn external_flow(
    kind: &str,
    subtype: &str,
    amount: Decimal,
    quantity: Decimal,
    price: Decimal,
) -> Option<Decimal> {
    match (kind, subtype) {
        ("cash", "contribution" | "deposit" | "withdrawal") => Some(-amount),
        ("buy", "contribution") => Some(amount),
        ("transfer", "transfer" | "send" | "request") if amount.is_zero() => {
            quantity.checked_mul(price)
        }
        ("transfer", "transfer" | "send" | "request") => Some(-amount),
        _ => None,
    }
}

/// Everything a row means, in one call (for the API and for tests of the vocabulary).
pub fn meaning(
    kind: &str,
    subtype: &str,
    has_security: bool,
    quantity: Decimal,
    amount: Decimal,
) -> Meaning {
    if kind == CANCEL {
        return Meaning::Cancel;
    }
    if let Some(side) = trade_side(kind, subtype) {
        return Meaning::Trade(side);
    }
    if let Some(change) = unit_change(kind, subtype, has_security, quantity, amount) {
        return Meaning::Units(change);
    }
    if external_flow(kind, subtype, amount, quantity, Decimal::ZERO).is_some() {
        return Meaning::ExternalFlow;
    }
    match series_of(kind, subtype) {
        Some((series, sign)) if sign.is_sign_negative() => Meaning::Income(series),
        Some((series, _)) => Meaning::Cost(series),
        None => Meaning::Other,
    }
}

/// Health of an item's connection, as stored in `plaid_items.status`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ItemStatus {
    Healthy,
    LoginRequired,
    PendingExpiration,
    PendingDisconnect,
    Error,
    NotReady,
}

impl ItemStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ItemStatus::Healthy => "healthy",
            ItemStatus::LoginRequired => "login_required",
            ItemStatus::PendingExpiration => "pending_expiration",
            ItemStatus::PendingDisconnect => "pending_disconnect",
            ItemStatus::Error => "error",
            ItemStatus::NotReady => "not_ready",
        }
    }

    /// A stored value; anything unknown reads as `Error`.
    pub fn from_stored(status: &str) -> ItemStatus {
        match status {
            "healthy" => ItemStatus::Healthy,
            "login_required" => ItemStatus::LoginRequired,
            "pending_expiration" => ItemStatus::PendingExpiration,
            "pending_disconnect" => ItemStatus::PendingDisconnect,
            "not_ready" => ItemStatus::NotReady,
            _ => ItemStatus::Error,
        }
    }

    /// Warnings that a successful sync does not clear: only a re-link (update mode) or a
    /// renewed consent does.
    pub fn survives_sync(self) -> bool {
        matches!(
            self,
            ItemStatus::PendingExpiration | ItemStatus::PendingDisconnect
        )
    }
}

/// Why a sync started, as stored in `sync_runs.trigger`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trigger {
    /// `refreshItem`.
    Manual,
    /// `refreshAll`.
    RefreshAll,
    /// `investments sync` or `serve --sync-every`.
    Schedule,
    /// A Plaid webhook.
    Webhook,
    /// The first sync after linking.
    Link,
}

impl Trigger {
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Manual => "manual",
            Trigger::RefreshAll => "refresh_all",
            Trigger::Schedule => "schedule",
            Trigger::Webhook => "webhook",
            Trigger::Link => "link",
        }
    }
}

/// How a sync run ended, as stored in `sync_runs.outcome`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunOutcome {
    Running,
    Succeeded,
    Failed,
    /// Still running when its process shut down past the grace period.
    Interrupted,
    /// Left running by a process that no longer holds its lock (it crashed or was
    /// killed).
    Abandoned,
}

impl RunOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            RunOutcome::Running => "running",
            RunOutcome::Succeeded => "succeeded",
            RunOutcome::Failed => "failed",
            RunOutcome::Interrupted => "interrupted",
            RunOutcome::Abandoned => "abandoned",
        }
    }

    pub fn from_stored(outcome: &str) -> RunOutcome {
        match outcome {
            "succeeded" => RunOutcome::Succeeded,
            "failed" => RunOutcome::Failed,
            "interrupted" => RunOutcome::Interrupted,
            "abandoned" => RunOutcome::Abandoned,
            _ => RunOutcome::Running,
        }
    }
}

/// Where a running sync is, as stored in `sync_runs.phase`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunPhase {
    /// Waiting for a free slot of the supervisor or for the item's lock.
    Queued,
    /// Reading holdings and transactions from Plaid.
    Fetching,
    /// Writing them in one database transaction.
    Storing,
}

impl RunPhase {
    pub fn as_str(self) -> &'static str {
        match self {
            RunPhase::Queued => "queued",
            RunPhase::Fetching => "fetching",
            RunPhase::Storing => "storing",
        }
    }

    pub fn from_stored(phase: &str) -> Option<RunPhase> {
        match phase {
            "queued" => Some(RunPhase::Queued),
            "fetching" => Some(RunPhase::Fetching),
            "storing" => Some(RunPhase::Storing),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn every_kind_of_row_has_one_meaning() {
        let z = Decimal::ZERO;
        assert_eq!(
            meaning("buy", "buy", true, d("1"), d("10")),
            Meaning::Trade(TradeSide::Buy)
        );
        assert_eq!(
            meaning("sell", "sell short", true, d("-1"), d("-10")),
            Meaning::Trade(TradeSide::SellShort)
        );
        assert_eq!(
            meaning("transfer", "split", true, d("10"), z),
            Meaning::Units(UnitChange::Reshape)
        );
        // A row with units and no cash, whatever its type, is a reshape.
        assert_eq!(
            meaning("transfer", "adjustment", true, d("-5"), z),
            Meaning::Units(UnitChange::Reshape)
        );
        assert_eq!(
            meaning("transfer", "transfer", true, d("4"), z),
            Meaning::Units(UnitChange::Transfer)
        );
        assert_eq!(
            meaning("cash", "deposit", false, z, d("-500")),
            Meaning::ExternalFlow
        );
        assert_eq!(
            meaning("cash", "dividend", true, z, d("-3")),
            Meaning::Income(Series::Dividends)
        );
        assert_eq!(
            meaning("fee", "account fee", false, z, d("2")),
            Meaning::Cost(Series::Fees)
        );
        assert_eq!(
            meaning("cancel", "cancel", true, d("-1"), d("-10")),
            Meaning::Cancel
        );
        assert_eq!(
            meaning("cash", "pending credit", false, z, d("-1")),
            Meaning::Other
        );
    }

    #[test]
    fn a_security_transfer_without_cash_flows_at_its_value() {
        // 4 units in at 25: an inflow of 100, not a gain.
        assert_eq!(
            external_flow("transfer", "transfer", Decimal::ZERO, d("4"), d("25")),
            Some(d("100"))
        );
        assert_eq!(
            external_flow("cash", "deposit", d("-500"), Decimal::ZERO, Decimal::ZERO),
            Some(d("500"))
        );
    }
}
