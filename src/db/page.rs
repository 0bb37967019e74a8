//! Keyset ("seek") pagination, the one pagination path of every connection.
//!
//! A page is `WHERE <filter> AND <rows after the cursor> ORDER BY <keys> LIMIT n + 1`:
//! no OFFSET, so a page deep in a million rows costs what page one costs, and cursors stay
//! valid while rows are added. Every ordering ends on a unique key, so the order is total.
//! A cursor is the sort-key values of its row plus the ordering's signature, as base64url
//! JSON; a cursor from another connection or ordering is refused.

use crate::domain::{OrderBy, PageRequest};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::NaiveDate;
use rust_decimal::Decimal;
use sea_orm::sea_query::{Alias, Expr, Query, SelectStatement};
use sea_orm::{
    Condition, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, ExprTrait,
    FromQueryResult, Order, QueryFilter, QueryOrder, QueryResult, QuerySelect, QueryTrait, Select,
    Statement, Value,
};
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use super::Numeric;
use super::decimal::{from_sort_key, sort_key};
use crate::error::{ApiError, ApiResult};

/// Page size when neither `first` nor `last` is given.
pub const DEFAULT_PAGE_SIZE: u64 = 50;
/// Largest `first` / `last` accepted.
pub const MAX_PAGE_SIZE: u64 = 500;

/// How a sort key's value is typed inside a cursor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyKind {
    Int,
    Text,
    Date,
    Decimal,
    /// A decimal, compared in SQL through its [`super::decimal::sort_key`] column.
    DecimalKey,
}

impl KeyKind {
    /// The kind of a [`super::decimal::Keyed`] column's order expression on `backend`.
    pub fn decimal(backend: DbBackend) -> KeyKind {
        if super::decimal::Keyed::by_key(backend) {
            KeyKind::DecimalKey
        } else {
            KeyKind::Decimal
        }
    }
}

/// One component of an ordering: a non-null SQL expression and its direction.
#[derive(Clone, Debug)]
pub struct SortKey {
    name: &'static str,
    expr: Expr,
    kind: KeyKind,
    descending: bool,
}

impl SortKey {
    /// `expr` must never be NULL (wrap nullable columns in `COALESCE`) and, for decimals,
    /// must already be comparable (see [`super::decimal::Keyed`]).
    pub fn new(name: &'static str, expr: Expr, kind: KeyKind, descending: bool) -> Self {
        SortKey {
            name,
            expr,
            kind,
            descending,
        }
    }
}

/// A total order over a listing's rows; the last key must be unique.
#[derive(Clone, Debug)]
pub struct Ordering {
    signature: String,
    keys: Vec<SortKey>,
}

impl Ordering {
    pub fn new(listing: &str, keys: Vec<SortKey>) -> Self {
        let parts: Vec<String> = keys
            .iter()
            .map(|k| format!("{}.{}", k.name, if k.descending { "desc" } else { "asc" }))
            .collect();
        Ordering {
            signature: format!("{listing}:{}", parts.join(",")),
            keys,
        }
    }
}

/// The ordering for `order_by` (or `default` when empty), ended by the unique `id` key in
/// the direction of the last given key.
pub fn ordering_from<F: Copy>(
    listing: &str,
    order_by: &[OrderBy<F>],
    default: OrderBy<F>,
    key: impl Fn(F) -> (&'static str, Expr, KeyKind),
    id: Expr,
) -> Ordering {
    let order_by = if order_by.is_empty() {
        std::slice::from_ref(&default)
    } else {
        order_by
    };
    let mut keys: Vec<SortKey> = order_by
        .iter()
        .map(|o| {
            let (name, expr, kind) = key(o.field);
            SortKey::new(name, expr, kind, o.descending)
        })
        .collect();
    let last_descending = order_by.last().is_some_and(|o| o.descending);
    keys.push(SortKey::new("id", id, KeyKind::Int, last_descending));
    Ordering::new(listing, keys)
}

/// A sort-key value of one row.
#[derive(Clone, Debug, PartialEq)]
pub enum KeyValue {
    Int(i64),
    Text(String),
    Date(NaiveDate),
    Decimal(Decimal),
}

impl KeyValue {
    /// The value as bound against a key of `kind`.
    fn to_value(&self, kind: KeyKind) -> Value {
        match self {
            KeyValue::Int(v) => Value::from(*v),
            KeyValue::Text(v) => Value::from(v.clone()),
            KeyValue::Date(v) => Value::from(*v),
            KeyValue::Decimal(v) if kind == KeyKind::DecimalKey => Value::from(sort_key(*v)),
            KeyValue::Decimal(v) => Value::from(Numeric(*v)),
        }
    }

    fn to_json(&self) -> Json {
        match self {
            KeyValue::Int(v) => Json::from(*v),
            KeyValue::Text(v) => Json::from(v.as_str()),
            KeyValue::Date(v) => Json::from(v.to_string()),
            KeyValue::Decimal(v) => Json::from(v.to_string()),
        }
    }

    fn from_json(kind: KeyKind, json: &Json) -> Option<Self> {
        match kind {
            KeyKind::Int => json.as_i64().map(KeyValue::Int),
            KeyKind::Text => json.as_str().map(|s| KeyValue::Text(s.to_owned())),
            KeyKind::Date => json
                .as_str()
                .and_then(|s| s.parse().ok())
                .map(KeyValue::Date),
            KeyKind::Decimal | KeyKind::DecimalKey => json
                .as_str()
                .and_then(|s| s.parse().ok())
                .map(KeyValue::Decimal),
        }
    }

    fn read(row: &QueryResult, column: &str, kind: KeyKind) -> Result<Self, sea_orm::DbErr> {
        Ok(match kind {
            KeyKind::Int => KeyValue::Int(row.try_get("", column)?),
            KeyKind::Text => KeyValue::Text(row.try_get("", column)?),
            KeyKind::Date => KeyValue::Date(row.try_get("", column)?),
            KeyKind::Decimal => KeyValue::Decimal(row.try_get::<Numeric>("", column)?.0),
            KeyKind::DecimalKey => {
                let key: String = row.try_get("", column)?;
                KeyValue::Decimal(from_sort_key(&key).ok_or_else(|| {
                    sea_orm::DbErr::Type(format!("not a decimal sort key: {key:?}"))
                })?)
            }
        })
    }
}

#[derive(Serialize, Deserialize)]
struct CursorJson {
    /// Ordering signature.
    o: String,
    /// Key values.
    k: Vec<Json>,
}

fn encode_cursor(ordering: &Ordering, keys: &[KeyValue]) -> String {
    let json = CursorJson {
        o: ordering.signature.clone(),
        k: keys.iter().map(KeyValue::to_json).collect(),
    };
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&json).expect("cursor serializes"))
}

fn decode_cursor(ordering: &Ordering, argument: &str, cursor: &str) -> ApiResult<Vec<KeyValue>> {
    let invalid = || ApiError::bad_input(format!("`{argument}` is not a valid cursor"));
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid())?;
    let json: CursorJson = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
    if json.o != ordering.signature {
        return Err(ApiError::bad_input(format!(
            "`{argument}` is a cursor of another connection or ordering; \
             start again without it when you change `orderBy`"
        )));
    }
    if json.k.len() != ordering.keys.len() {
        return Err(invalid());
    }
    ordering
        .keys
        .iter()
        .zip(&json.k)
        .map(|(key, value)| KeyValue::from_json(key.kind, value).ok_or_else(invalid))
        .collect()
}

fn page_size(value: Option<i32>, argument: &str) -> ApiResult<u64> {
    match value {
        None => Ok(DEFAULT_PAGE_SIZE),
        Some(n) if n < 0 => Err(ApiError::bad_input(format!(
            "`{argument}` must not be negative"
        ))),
        Some(n) if n as u64 > MAX_PAGE_SIZE => Err(ApiError::bad_input(format!(
            "`{argument}` is {n}, above the limit of {MAX_PAGE_SIZE} per page; \
             page with `after`/`before` instead"
        ))),
        Some(n) => Ok(n as u64),
    }
}

/// The count of all rows matching a connection's filter: already counted when the request
/// asked for it, else a statement run only if `totalCount` is resolved after all.
#[derive(Clone, Debug)]
pub enum Count {
    Counted(i64),
    Deferred(Statement),
}

impl Count {
    pub async fn get(&self, db: &DatabaseConnection) -> ApiResult<i64> {
        match self {
            Count::Counted(n) => Ok(*n),
            Count::Deferred(statement) => run_count(db, statement).await,
        }
    }
}

async fn run_count(db: &DatabaseConnection, statement: &Statement) -> ApiResult<i64> {
    let row = db
        .query_one_raw(statement.clone())
        .await?
        .ok_or_else(|| ApiError::internal("count", "COUNT(*) returned no row"))?;
    Ok(row.try_get::<i64>("", "total")?)
}

/// One page of rows, each with its cursor.
#[derive(Debug)]
pub struct Page<M> {
    pub edges: Vec<(String, M)>,
    pub has_previous_page: bool,
    pub has_next_page: bool,
    pub count: Count,
}

impl<M: Clone> Page<M> {
    /// The page's rows, without cursors.
    pub fn models(&self) -> Vec<M> {
        self.edges.iter().map(|(_, m)| m.clone()).collect()
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    After,
    Before,
}

/// Rows after (or before) the cursor's position in `ordering`, the cursor's own row
/// included when `inclusive`. Always a positive range: the leading `k1 >= v1` (or `<=`)
/// is redundant but lets an index seek to the cursor, which a `NOT (...)` around the
/// condition would hide (a deep page's probe then reads every row up to the cursor).
fn seek(ordering: &Ordering, values: &[KeyValue], side: Side, inclusive: bool) -> Condition {
    let greater = |key: &SortKey| key.descending == (side == Side::Before);
    let equal = |key: &SortKey, value: &KeyValue| key.expr.clone().eq(value.to_value(key.kind));
    let mut any = Condition::any();
    for (i, key) in ordering.keys.iter().enumerate() {
        let mut all = Condition::all();
        for (prev, value) in ordering.keys[..i].iter().zip(values) {
            all = all.add(equal(prev, value));
        }
        let value = values[i].to_value(key.kind);
        all = all.add(if greater(key) {
            key.expr.clone().gt(value)
        } else {
            key.expr.clone().lt(value)
        });
        any = any.add(all);
    }
    if inclusive {
        let mut at = Condition::all();
        for (key, value) in ordering.keys.iter().zip(values) {
            at = at.add(equal(key, value));
        }
        any = any.add(at);
    }
    let first = &ordering.keys[0];
    let value = values[0].to_value(first.kind);
    let bound = if greater(first) {
        first.expr.clone().gte(value)
    } else {
        first.expr.clone().lte(value)
    };
    Condition::all().add(bound).add(any)
}

fn count_statement(backend: DbBackend, filtered: SelectStatement) -> Statement {
    let query = Query::select()
        .expr_as(Expr::cust("COUNT(*)"), Alias::new("total"))
        .from_subquery(filtered, Alias::new("filtered"))
        .to_owned();
    backend.build(&query)
}

/// Whether any row of `select` meets `condition`, looked for from the cursor outwards
/// (`ordering` walked forwards, or backwards when `reverse`): the index that yields the
/// order then finds the answer in the first row it reads, where an unordered probe may
/// let the planner filter a scan of another index.
fn exists_statement<E: EntityTrait>(
    backend: DbBackend,
    select: Select<E>,
    condition: Condition,
    ordering: &Ordering,
    reverse: bool,
) -> Statement {
    let mut query = select.filter(condition).select_only().expr(Expr::val(1));
    for key in &ordering.keys {
        let order = if key.descending != reverse {
            Order::Desc
        } else {
            Order::Asc
        };
        query = query.order_by(key.expr.clone(), order);
    }
    backend.build(&query.limit(1).into_query())
}

/// The statements of one page: the rows (one more than asked, to know if more follow),
/// the probe for rows on the far side of the cursor it started from, and the count.
#[derive(Clone, Debug)]
pub struct PagePlan {
    pub rows: Statement,
    pub probe: Option<Statement>,
    pub count: Statement,
    limit: u64,
    backward: bool,
}

/// Plans one page of `select` (already filtered and limited to its owner) in `ordering`;
/// every argument is checked here, before any statement runs.
pub fn plan<E: EntityTrait>(
    backend: DbBackend,
    select: Select<E>,
    ordering: &Ordering,
    request: &PageRequest,
) -> ApiResult<PagePlan> {
    if request.first.is_some() && request.last.is_some() {
        return Err(ApiError::bad_input(
            "give either `first` (with `after`) or `last` (with `before`), not both",
        ));
    }
    let backward = request.last.is_some() || (request.before.is_some() && request.first.is_none());
    let limit = if backward {
        page_size(request.last, "last")?
    } else {
        page_size(request.first, "first")?
    };
    let after = match &request.after {
        Some(c) => Some(decode_cursor(ordering, "after", c)?),
        None => None,
    };
    let before = match &request.before {
        Some(c) => Some(decode_cursor(ordering, "before", c)?),
        None => None,
    };

    // Only the filter matters to the count: an index that covers it answers alone.
    let count = count_statement(
        backend,
        select.clone().select_only().expr(Expr::val(1)).into_query(),
    );
    let mut query = select.clone();
    if let Some(values) = &after {
        query = query.filter(seek(ordering, values, Side::After, false));
    }
    if let Some(values) = &before {
        query = query.filter(seek(ordering, values, Side::Before, false));
    }
    for (i, key) in ordering.keys.iter().enumerate() {
        let order = if key.descending != backward {
            Order::Desc
        } else {
            Order::Asc
        };
        query = query
            .order_by(key.expr.clone(), order)
            .expr_as(key.expr.clone(), format!("__k{i}"));
    }
    let rows = backend.build(&query.limit(limit + 1).into_query());
    // The far side of the cursor the page started from: the cursor's row and beyond.
    let probe = if backward {
        before.map(|values| seek(ordering, &values, Side::After, true))
    } else {
        after.map(|values| seek(ordering, &values, Side::Before, true))
    }
    .map(|far_side| exists_statement(backend, select, far_side, ordering, !backward));
    Ok(PagePlan {
        rows,
        probe,
        count,
        limit,
        backward,
    })
}

/// Fetches one page of `select` (already filtered and limited to its owner) in `ordering`.
/// The rows, the probe and (when asked) the count run concurrently.
pub async fn fetch<E>(
    db: &DatabaseConnection,
    select: Select<E>,
    ordering: &Ordering,
    request: &PageRequest,
) -> ApiResult<Page<E::Model>>
where
    E: EntityTrait,
    E::Model: FromQueryResult,
{
    let plan = plan(db.get_database_backend(), select, ordering, request)?;
    let probe = async {
        match &plan.probe {
            Some(statement) => Ok(db.query_one_raw(statement.clone()).await?.is_some()),
            None => Ok::<_, ApiError>(false),
        }
    };
    let count = async {
        if request.with_count {
            Ok(Some(run_count(db, &plan.count).await?))
        } else {
            Ok::<_, ApiError>(None)
        }
    };
    let (rows, far_side, counted) = tokio::try_join!(
        async { Ok(db.query_all_raw(plan.rows.clone()).await?) },
        probe,
        count
    )?;

    let limit = plan.limit;
    let has_more = rows.len() as u64 > limit;
    let mut edges = Vec::with_capacity(rows.len().min(limit as usize));
    for row in rows.iter().take(limit as usize) {
        let keys = ordering
            .keys
            .iter()
            .enumerate()
            .map(|(i, key)| KeyValue::read(row, &format!("__k{i}"), key.kind))
            .collect::<Result<Vec<_>, _>>()?;
        let model = E::Model::from_query_result(row, "")?;
        edges.push((encode_cursor(ordering, &keys), model));
    }
    if plan.backward {
        edges.reverse();
    }
    let (has_previous_page, has_next_page) = if plan.backward {
        (has_more, far_side)
    } else {
        (far_side, has_more)
    };
    Ok(Page {
        edges,
        has_previous_page,
        has_next_page,
        count: match counted {
            Some(n) => Count::Counted(n),
            None => Count::Deferred(plan.count),
        },
    })
}
