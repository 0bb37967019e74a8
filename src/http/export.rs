//! CSV export: `GET /export/investment_transactions.csv` and `GET /export/holdings.csv`.
//!
//! Bearer auth as `/graphql`. The query parameters `filter` and `orderBy` take the same
//! JSON as the GraphQL arguments of `investmentTransactions` / `holdings` (converted by the
//! same input types, so the filters cannot drift). Rows are streamed page by page with the
//! keyset pager, so a million rows never sit in memory. RFC 4180 quoting, CRLF line ends,
//! decimals as their exact text; text cells a spreadsheet would run as a formula (starting
//! with `=`, `+`, `-`, `@`, tab or carriage return) are prefixed with `'`.

use crate::domain::{OrderBy, PageRequest};
use std::collections::HashMap;
use std::sync::Arc;

use crate::db::scope::UserScope;
use async_graphql::InputType;
use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use futures_util::stream;
use serde::Deserialize;

use super::AppState;
use crate::db;
use crate::db::entities::{
    accounts, investment_holdings as holdings, investment_transactions as transactions, securities,
};
use crate::db::page::{MAX_PAGE_SIZE, Page};
use crate::error::{ApiError, ApiResult};
use crate::graphql::inputs::{
    HoldingFilter, HoldingOrder, InvestmentTransactionFilter, InvestmentTransactionOrder,
};
use crate::graphql::listing::{self, Listed};
use crate::graphql::types::{Holding, InvestmentTransaction};

/// The query string of an export.
#[derive(Deserialize)]
pub struct ExportParams {
    /// JSON of the GraphQL `filter` argument.
    filter: Option<String>,
    /// JSON of the GraphQL `orderBy` argument.
    #[serde(rename = "orderBy")]
    order_by: Option<String>,
}

/// Parses a query parameter as the GraphQL input type `T`, with GraphQL's own rules.
fn parse_input<T: InputType>(name: &str, json: Option<&str>) -> ApiResult<Option<T>> {
    let Some(json) = json else {
        return Ok(None);
    };
    let value: serde_json::Value = serde_json::from_str(json)
        .map_err(|e| ApiError::bad_input(format!("`{name}` is not JSON: {e}")))?;
    let value = async_graphql::Value::from_json(value)
        .map_err(|e| ApiError::bad_input(format!("`{name}`: {e}")))?;
    let parsed = T::parse(Some(value.clone())).map_err(|e| {
        ApiError::bad_input(format!(
            "`{name}`: {}",
            e.into_server_error(Default::default()).message
        ))
    })?;
    // GraphQL's validation refuses unknown fields before `parse` runs; do the same here.
    if let Some(path) = unknown_field(&value, &parsed.to_value()) {
        return Err(ApiError::bad_input(format!(
            "`{name}`: unknown field `{path}`"
        )));
    }
    Ok(Some(parsed))
}

/// The first field of `given` that the input type does not have (`known` is the parsed
/// input written back, which lists every field it has).
fn unknown_field(given: &async_graphql::Value, known: &async_graphql::Value) -> Option<String> {
    use async_graphql::Value as V;
    match (given, known) {
        (V::Object(given), V::Object(known)) => {
            given.iter().find_map(|(key, value)| match known.get(key) {
                None => Some(key.to_string()),
                Some(inner) => unknown_field(value, inner).map(|path| format!("{key}.{path}")),
            })
        }
        (V::List(given), V::List(known)) => given
            .iter()
            .zip(known)
            .find_map(|(g, k)| unknown_field(g, k)),
        _ => None,
    }
}

/// A text cell that no spreadsheet will run as a formula.
pub fn text_cell(value: &str) -> String {
    if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_owned()
    }
}

fn opt_text(value: Option<&str>) -> String {
    value.map(text_cell).unwrap_or_default()
}

fn dec(value: Option<db::Numeric>) -> String {
    value.map(|v| v.0.to_string()).unwrap_or_default()
}

fn csv_bytes(rows: &[Vec<String>]) -> ApiResult<Bytes> {
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    for row in rows {
        writer
            .write_record(row)
            .map_err(|e| ApiError::internal("csv", e))?;
    }
    let bytes = writer
        .into_inner()
        .map_err(|e| ApiError::internal("csv", e.to_string()))?;
    Ok(Bytes::from(bytes))
}

/// The rows of one page, given the accounts and securities it names.
type RowsOf<M> =
    fn(&M, &HashMap<i64, accounts::Model>, &HashMap<i64, securities::Model>) -> Vec<String>;

/// Fetches the page after `after` and renders it as CSV, with the cursor of the next page
/// (`None` after the last).
async fn render_page<M, F, Fut>(
    scope: &UserScope,
    fetch: &F,
    after: Option<String>,
    rows_of: RowsOf<M>,
    ids_of: fn(&M) -> (i64, Option<i64>),
) -> ApiResult<(Bytes, Option<String>)>
where
    M: Clone,
    F: Fn(PageRequest) -> Fut,
    Fut: std::future::Future<Output = ApiResult<Page<M>>>,
{
    let page = fetch(PageRequest {
        first: Some(MAX_PAGE_SIZE as i32),
        after,
        ..Default::default()
    })
    .await?;
    let models = page.models();
    let (account_ids, security_ids): (Vec<i64>, Vec<Option<i64>>) =
        models.iter().map(ids_of).unzip();
    let accounts = scope.by_id::<accounts::Entity>(account_ids).await?;
    let securities = scope
        .by_id::<securities::Entity>(security_ids.into_iter().flatten())
        .await?;
    let rows: Vec<Vec<String>> = models
        .iter()
        .map(|m| rows_of(m, &accounts, &securities))
        .collect();
    let next = if page.has_next_page {
        page.edges.last().map(|(cursor, _)| cursor.clone())
    } else {
        None
    };
    Ok((csv_bytes(&rows)?, next))
}

/// The header and the pages as CSV. The first page is read before the answer starts, so
/// that a failure there is still an error status; later pages are fetched as the client
/// reads.
async fn stream_pages<M, F, Fut>(
    scope: UserScope,
    header: &'static [&'static str],
    fetch: F,
    rows_of: RowsOf<M>,
    ids_of: fn(&M) -> (i64, Option<i64>),
) -> ApiResult<Body>
where
    M: Clone + Send + Sync + 'static,
    F: Fn(PageRequest) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ApiResult<Page<M>>> + Send + 'static,
{
    let header = csv_bytes(&[header.iter().map(|h| (*h).to_owned()).collect()])?;
    let (first, next) = render_page(&scope, &fetch, None, rows_of, ids_of).await?;
    let fetch = Arc::new(fetch);
    let start = next.map_or(Continue::Done, Continue::After);
    let pages = stream::unfold(start, move |state| {
        let fetch = fetch.clone();
        let scope = scope.clone();
        async move {
            match state {
                Continue::Done => None,
                // The row is out; now break the transfer, so that a program reading the
                // body sees a failed download, not a complete file.
                Continue::Failed => {
                    Some((Err(std::io::Error::other("export failed")), Continue::Done))
                }
                Continue::After(after) => {
                    match render_page(&scope, &*fetch, Some(after), rows_of, ids_of).await {
                        Ok((chunk, next)) => {
                            Some((Ok(chunk), next.map_or(Continue::Done, Continue::After)))
                        }
                        Err(err) => {
                            err.log_cause();
                            tracing::warn!(
                                code = err.code(),
                                error = %err.message(),
                                "export failed mid-stream"
                            );
                            Some((Ok(error_row(&err)), Continue::Failed))
                        }
                    }
                }
            }
        }
    });
    let head = stream::iter([Ok::<_, std::io::Error>(header), Ok(first)]);
    Ok(Body::from_stream(futures_util::StreamExt::chain(
        head, pages,
    )))
}

/// Where a streamed export goes next.
enum Continue {
    After(String),
    /// A page failed and its error row is sent.
    Failed,
    Done,
}

/// The last line of an export that failed after its first byte (the status is already
/// sent): visible to whoever opens the file, so that a cut file is never taken for a
/// whole one.
pub const INCOMPLETE_MARK: &str = "#EXPORT INCOMPLETE";

fn error_row(err: &ApiError) -> Bytes {
    let row = vec![
        INCOMPLETE_MARK.to_owned(),
        err.code().to_owned(),
        format!(
            "{}; the rows above are complete, the rest is missing: export again",
            err.message()
        ),
    ];
    csv_bytes(&[row]).unwrap_or_else(|_| Bytes::from_static(b"#EXPORT INCOMPLETE\r\n"))
}

fn csv_response(filename: &str, body: Body) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
        ],
        body,
    )
        .into_response()
}

const TRANSACTION_COLUMNS: &[&str] = &[
    "date",
    "investment_transaction_id",
    "account",
    "account_id",
    "ticker_symbol",
    "security_name",
    "type",
    "subtype",
    "name",
    "quantity",
    "price",
    "amount",
    "fees",
    "currency",
    "cancelled",
];

const HOLDING_COLUMNS: &[&str] = &[
    "account",
    "account_id",
    "ticker_symbol",
    "security_name",
    "security_type",
    "quantity",
    "institution_price",
    "institution_price_as_of",
    "institution_value",
    "cost_basis",
    "currency",
];

/// The sort keys and rows of an export's list.
type FieldOf<E> = <<E as Export>::Node as Listed>::Field;
type RowOf<E> = <<E as Export>::Node as Listed>::Row;

/// One exportable list: the connection whose rows it holds (filter, sort keys, pages, as
/// [`Listed`] reads them for GraphQL), the GraphQL inputs it takes, and its CSV rows.
pub trait Export: 'static {
    type Node: Listed;
    type Filter: InputType + Default;
    type Order: InputType + Into<OrderBy<FieldOf<Self>>>;
    const FILE: &'static str;
    const COLUMNS: &'static [&'static str];

    fn into_query(filter: Self::Filter) -> ApiResult<<Self::Node as Listed>::Filter>;

    /// The cells of `row`, given the accounts and securities its page names.
    fn row(
        row: &RowOf<Self>,
        accounts: &HashMap<i64, accounts::Model>,
        securities: &HashMap<i64, securities::Model>,
    ) -> Vec<String>;

    /// The account and security a row names.
    fn references(row: &RowOf<Self>) -> (i64, Option<i64>);
}

/// `investment_transactions.csv`: the rows of `investmentTransactions`.
pub struct Transactions;

impl Export for Transactions {
    type Node = InvestmentTransaction;
    type Filter = InvestmentTransactionFilter;
    type Order = InvestmentTransactionOrder;
    const FILE: &'static str = "investment_transactions.csv";
    const COLUMNS: &'static [&'static str] = TRANSACTION_COLUMNS;

    fn into_query(filter: Self::Filter) -> ApiResult<crate::domain::TransactionFilter> {
        filter.into_query()
    }

    fn row(
        t: &transactions::Model,
        accounts: &HashMap<i64, accounts::Model>,
        securities: &HashMap<i64, securities::Model>,
    ) -> Vec<String> {
        let security = t.security_id.and_then(|id| securities.get(&id));
        let account = accounts.get(&t.account_id);
        vec![
            t.date.to_string(),
            text_cell(&t.plaid_investment_transaction_id),
            opt_text(account.map(|a| a.name.as_str())),
            opt_text(account.map(|a| a.plaid_account_id.as_str())),
            opt_text(security.and_then(|s| s.ticker_symbol.as_deref())),
            opt_text(security.and_then(|s| s.name.as_deref())),
            text_cell(&t.transaction_type),
            text_cell(&t.subtype),
            text_cell(&t.name),
            t.quantity.0.to_string(),
            t.price.0.to_string(),
            t.amount.0.to_string(),
            dec(t.fees),
            opt_text(
                t.iso_currency_code
                    .as_deref()
                    .or(t.unofficial_currency_code.as_deref()),
            ),
            t.cancelled.to_string(),
        ]
    }

    fn references(t: &transactions::Model) -> (i64, Option<i64>) {
        (t.account_id, t.security_id)
    }
}

/// `holdings.csv`: the rows of `holdings`.
pub struct Holdings;

impl Export for Holdings {
    type Node = Holding;
    type Filter = HoldingFilter;
    type Order = HoldingOrder;
    const FILE: &'static str = "holdings.csv";
    const COLUMNS: &'static [&'static str] = HOLDING_COLUMNS;

    fn into_query(filter: Self::Filter) -> ApiResult<crate::domain::HoldingFilter> {
        filter.into_query()
    }

    fn row(
        h: &holdings::Model,
        accounts: &HashMap<i64, accounts::Model>,
        securities: &HashMap<i64, securities::Model>,
    ) -> Vec<String> {
        let security = securities.get(&h.security_id);
        let account = accounts.get(&h.account_id);
        vec![
            opt_text(account.map(|a| a.name.as_str())),
            opt_text(account.map(|a| a.plaid_account_id.as_str())),
            opt_text(security.and_then(|s| s.ticker_symbol.as_deref())),
            opt_text(security.and_then(|s| s.name.as_deref())),
            opt_text(security.and_then(|s| s.security_type.as_deref())),
            h.quantity.0.to_string(),
            h.institution_price.0.to_string(),
            h.institution_price_as_of
                .map(|d| d.to_string())
                .unwrap_or_default(),
            h.institution_value.0.to_string(),
            dec(h.cost_basis),
            crate::portfolio::currency_of(h),
        ]
    }

    fn references(h: &holdings::Model) -> (i64, Option<i64>) {
        (h.account_id, Some(h.security_id))
    }
}

/// Authenticates the caller and reads `filter` and `orderBy` through the GraphQL input
/// types, so that an export filters exactly as the connection does.
async fn prepare<E: Export>(
    state: &AppState,
    headers: &HeaderMap,
    params: &ExportParams,
) -> ApiResult<(
    UserScope,
    <E::Node as Listed>::Filter,
    Vec<OrderBy<FieldOf<E>>>,
)> {
    let viewer = super::auth::viewer(state, headers).await?;
    let filter = parse_input::<E::Filter>("filter", params.filter.as_deref())?.unwrap_or_default();
    let order_by = listing::order_by(parse_input::<Vec<E::Order>>(
        "orderBy",
        params.order_by.as_deref(),
    )?);
    Ok((
        viewer.user_scope(&state.db),
        E::into_query(filter)?,
        order_by,
    ))
}

/// `GET /export/<E::FILE>`.
pub async fn csv<E: Export>(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(params): Query<ExportParams>,
) -> Result<Response, ApiError> {
    let (scope, query, order_by) = prepare::<E>(&state, &headers, &params).await?;
    let rows_scope = scope.clone();
    let (query, order_by) = (Arc::new(query), Arc::new(order_by));
    let fetch = move |request: PageRequest| {
        let (scope, query, order_by) = (rows_scope.clone(), query.clone(), order_by.clone());
        async move { E::Node::page(&scope, &query, &order_by, &request).await }
    };
    let body = stream_pages(scope, E::COLUMNS, fetch, E::row, E::references).await?;
    Ok(csv_response(E::FILE, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A page that fails after the first byte ends the file with a visible row, then
    /// breaks the transfer.
    #[tokio::test]
    async fn a_failure_mid_stream_leaves_a_visible_row() {
        let db = sea_orm::Database::connect("sqlite::memory:").await.unwrap();
        <migration::Migrator as migration::MigratorTrait>::up(&db, None)
            .await
            .unwrap();
        let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = calls.clone();
        let fetch = move |_request: PageRequest| {
            let call = counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            async move {
                match call {
                    0 => Ok(Page {
                        edges: vec![("c1".to_owned(), 7_i64)],
                        has_previous_page: false,
                        has_next_page: true,
                        count: db::page::Count::Counted(2),
                    }),
                    _ => Err(ApiError::Unavailable),
                }
            }
        };
        let rows_of: RowsOf<i64> = |m, _, _| vec![m.to_string()];
        let body = stream_pages(UserScope::new(db, 1), &["n"], fetch, rows_of, |_| (1, None))
            .await
            .expect("the first page is fine");
        let mut chunks = body.into_data_stream();
        let mut text = String::new();
        let mut failed = false;
        while let Some(chunk) = futures_util::StreamExt::next(&mut chunks).await {
            match chunk {
                Ok(bytes) => text.push_str(std::str::from_utf8(&bytes).unwrap()),
                Err(_) => {
                    failed = true;
                    break;
                }
            }
        }
        assert!(failed, "the transfer must break: {text}");
        let lines: Vec<&str> = text.split("\r\n").collect();
        assert_eq!(lines[0], "n");
        assert_eq!(lines[1], "7");
        assert!(
            lines[2].starts_with("#EXPORT INCOMPLETE,SERVICE_UNAVAILABLE,"),
            "{text}"
        );
        assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 2);
    }

    #[test]
    fn formula_cells_are_neutralised() {
        assert_eq!(text_cell("=SUM(A1)"), "'=SUM(A1)");
        assert_eq!(text_cell("+1"), "'+1");
        assert_eq!(text_cell("-1+2"), "'-1+2");
        assert_eq!(text_cell("@cmd"), "'@cmd");
        assert_eq!(text_cell("Apple"), "Apple");
    }
}
