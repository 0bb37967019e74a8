//! Relay connections: exactly the shape Apollo's `relayStylePagination` and urql's
//! `relayPagination` expect (`edges { cursor node }`, `nodes`, `pageInfo`, `totalCount`),
//! built from a `db::page::Page`. Ours rather than async-graphql's so that every generated
//! type carries a description.

use crate::domain::PageRequest;
use std::borrow::Cow;

use async_graphql::{Context, Object, OutputType, Result, SimpleObject, TypeName};

use crate::db::page::{Count, Page};

/// Where a page sits in the whole list.
#[derive(SimpleObject)]
pub struct PageInfo {
    /// True when there are objects before this page (fetch them with `last`/`before`).
    has_previous_page: bool,
    /// True when there are objects after this page (fetch them with `first`/`after`).
    has_next_page: bool,
    /// Cursor of the first edge of the page; pass it as `before` for the previous page.
    start_cursor: Option<String>,
    /// Cursor of the last edge of the page; pass it as `after` for the next page.
    end_cursor: Option<String>,
}

/// An object of a connection with its cursor.
pub struct Edge<N> {
    cursor: String,
    node: N,
}

impl<N: OutputType> TypeName for Edge<N> {
    fn type_name() -> Cow<'static, str> {
        format!("{}Edge", N::type_name()).into()
    }
}

/// An object in a page of results, with the cursor that points at it.
#[Object(name_type)]
impl<N: OutputType> Edge<N> {
    /// Opaque cursor of this object: pass it as `after` or `before`.
    async fn cursor(&self) -> &str {
        &self.cursor
    }

    /// The object.
    async fn node(&self) -> &N {
        &self.node
    }
}

/// A page of a list, as a Relay connection.
pub struct Connection<N> {
    edges: Vec<Edge<N>>,
    has_previous_page: bool,
    has_next_page: bool,
    count: Count,
}

impl<N: OutputType> TypeName for Connection<N> {
    fn type_name() -> Cow<'static, str> {
        format!("{}Connection", N::type_name()).into()
    }
}

/// A page of a list (Relay connection): page with `first`/`after` forwards or
/// `last`/`before` backwards; cursors are opaque and stay valid while objects are added.
#[Object(name_type)]
impl<N: OutputType> Connection<N> {
    /// The objects of the page, each with its cursor.
    async fn edges(&self) -> &[Edge<N>] {
        &self.edges
    }

    /// The objects of the page, without cursors.
    async fn nodes(&self) -> Vec<&N> {
        self.edges.iter().map(|e| &e.node).collect()
    }

    /// Where this page sits in the whole list.
    async fn page_info(&self) -> PageInfo {
        PageInfo {
            has_previous_page: self.has_previous_page,
            has_next_page: self.has_next_page,
            start_cursor: self.edges.first().map(|e| e.cursor.clone()),
            end_cursor: self.edges.last().map(|e| e.cursor.clone()),
        }
    }

    /// Number of objects matching the filter, across all pages.
    async fn total_count(&self, ctx: &Context<'_>) -> Result<i64> {
        Ok(self.count.get(super::scope(ctx)?.connection()).await?)
    }
}

pub fn from_page<M, N: OutputType>(page: Page<M>, node: impl Fn(M) -> N) -> Connection<N> {
    Connection {
        edges: page
            .edges
            .into_iter()
            .map(|(cursor, model)| Edge {
                cursor,
                node: node(model),
            })
            .collect(),
        has_previous_page: page.has_previous_page,
        has_next_page: page.has_next_page,
        count: page.count,
    }
}

/// The page arguments of the connection field being resolved; `totalCount`, when
/// selected, is counted alongside the page.
pub fn request(
    ctx: &Context<'_>,
    first: Option<i32>,
    after: Option<String>,
    last: Option<i32>,
    before: Option<String>,
) -> PageRequest {
    PageRequest {
        first,
        after,
        last,
        before,
        with_count: ctx.look_ahead().field("totalCount").exists(),
    }
}
