//! Schema extensions: the write-scope check for mutations, an `extensions.code` on every
//! error (async-graphql's own parse, validation and limit errors carry none), the request
//! limits of [`super::cost`] (cost, root fields, aliases, deadline), and the request metrics.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextExecute, NextParseQuery, NextPrepareRequest,
    NextRequest, NextValidation,
};
use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, OperationDefinition, OperationType, Selection,
    SelectionSet,
};
use async_graphql::{
    ErrorExtensionValues, Request, Response, ServerError, ServerResult, ValidationResult, Variables,
};

use crate::auth::Viewer;
use crate::error::ApiError;

fn with_code(mut error: ServerError, code: &str) -> ServerError {
    let extensions = error
        .extensions
        .get_or_insert_with(ErrorExtensionValues::default);
    if extensions.get("code").is_none() {
        extensions.set("code", code);
    }
    error
}

fn api_error(err: ApiError) -> ServerError {
    err.log_cause();
    coded(err.message(), err.code())
}

/// An error with `message` and `extensions.code`.
pub(crate) fn coded(message: String, code: &str) -> ServerError {
    with_code(ServerError::new(message, None), code)
}

/// The `extensions.code` of an error, if it has one.
pub(crate) fn code_of(error: &ServerError) -> Option<&str> {
    match error.extensions.as_ref()?.get("code")? {
        async_graphql::Value::String(code) => Some(code),
        async_graphql::Value::Enum(code) => Some(code.as_str()),
        _ => None,
    }
}

/// Gives every error a code: `GRAPHQL_PARSE_FAILED` for syntax errors,
/// `GRAPHQL_VALIDATION_FAILED` for documents the schema refuses (the depth limit
/// included), `OPERATION_RESOLUTION_FAILURE` when `operationName` names no operation of
/// the document, `BAD_USER_INPUT` for argument and variable values that do not fit, and
/// `INTERNAL_SERVER_ERROR` for any other error that came without a code.
pub struct ErrorCodes;

impl ExtensionFactory for ErrorCodes {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(ErrorCodes)
    }
}

#[async_graphql::async_trait::async_trait]
impl Extension for ErrorCodes {
    async fn request(&self, ctx: &ExtensionContext<'_>, next: NextRequest<'_>) -> Response {
        let mut response = next.run(ctx).await;
        response.errors = std::mem::take(&mut response.errors)
            .into_iter()
            .map(|e| {
                // async-graphql's own messages: `operationName` selects nothing, or an
                // input value does not parse. Anything else without a code is ours and
                // unexpected.
                let code = if e.message.starts_with("Unknown operation named")
                    || e.message.starts_with("Operation name required")
                {
                    "OPERATION_RESOLUTION_FAILURE"
                } else if e.message.starts_with("Failed to parse")
                    || e.message.starts_with("Invalid value for")
                {
                    "BAD_USER_INPUT"
                } else {
                    "INTERNAL_SERVER_ERROR"
                };
                with_code(e, code)
            })
            .collect();
        response
    }

    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        next.run(ctx, query, variables)
            .await
            .map_err(|e| with_code(e, "GRAPHQL_PARSE_FAILED"))
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        next.run(ctx).await.map_err(|errors| {
            errors
                .into_iter()
                .map(|mut e| {
                    let code = if e.message.starts_with("Invalid value for argument") {
                        // Say what the scalar takes: its check only answers yes or no.
                        let rule = e
                            .message
                            .rsplit_once("expected type \"")
                            .and_then(|(_, ty)| {
                                super::scalars::input_rule(ty.trim_end_matches('"'))
                            });
                        if let Some(rule) = rule {
                            e.message = format!("{}: {rule}", e.message);
                        }
                        "BAD_USER_INPUT"
                    } else {
                        "GRAPHQL_VALIDATION_FAILED"
                    };
                    with_code(e, code)
                })
                .collect()
        })
    }
}

/// Refuses a mutation operation to a `read` token before any of it runs.
pub struct MutationScope;

impl ExtensionFactory for MutationScope {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(OnSelected::new(WriteScope))
    }
}

struct WriteScope;

impl OnOperation for WriteScope {
    fn parsed(
        &self,
        ctx: &ExtensionContext<'_>,
        _: &ExecutableDocument,
        operation: &OperationDefinition,
    ) -> ServerResult<()> {
        if operation.ty == OperationType::Mutation {
            let viewer = ctx.data_opt::<Viewer>().ok_or(ApiError::Unauthenticated);
            viewer.and_then(|v| v.require_write()).map_err(api_error)?;
        }
        Ok(())
    }
}

/// What an extension does with the operation a request selects: once its document is
/// read (or refused), once the operation is found, once the document is validated, once
/// it has run, and once the request is answered.
trait OnOperation: Send + Sync + 'static {
    /// The document as parsed (`None`: it did not parse, or an extension inside this one
    /// refused it), and the `operationName` asked for.
    fn document(&self, _query: &str, _doc: Option<&ExecutableDocument>, _name: Option<&str>) {}

    /// The operation `operationName` selects in the parsed document.
    fn parsed(
        &self,
        _ctx: &ExtensionContext<'_>,
        _doc: &ExecutableDocument,
        _operation: &OperationDefinition,
    ) -> ServerResult<()> {
        Ok(())
    }

    fn validated(&self, _: &ValidationResult) -> Result<(), Vec<ServerError>> {
        Ok(())
    }

    fn executed(&self, _: &mut Response) {}

    /// The answer, `elapsed` after the request arrived.
    fn answered(&self, _: &Response, _elapsed: Duration) {}
}

/// Runs an [`OnOperation`] on the operation `operationName` selects (remembered from the
/// request, found once the document is parsed). A document without that operation is
/// left to execution, which reports it.
struct OnSelected<H> {
    hook: H,
    operation_name: Mutex<Option<String>>,
}

impl<H: OnOperation> OnSelected<H> {
    fn new(hook: H) -> Self {
        OnSelected {
            hook,
            operation_name: Mutex::default(),
        }
    }
}

#[async_graphql::async_trait::async_trait]
impl<H: OnOperation> Extension for OnSelected<H> {
    async fn request(&self, ctx: &ExtensionContext<'_>, next: NextRequest<'_>) -> Response {
        let started = Instant::now();
        let response = next.run(ctx).await;
        self.hook.answered(&response, started.elapsed());
        response
    }

    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        request: Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<Request> {
        *self.operation_name.lock().expect("not poisoned") = request.operation_name.clone();
        next.run(ctx, request).await
    }

    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let result = next.run(ctx, query, variables).await;
        let name = self.operation_name.lock().expect("not poisoned").clone();
        self.hook
            .document(query, result.as_ref().ok(), name.as_deref());
        let doc = result?;
        if let Some(operation) = selected_operation(&doc, name.as_deref()) {
            self.hook.parsed(ctx, &doc, operation)?;
        }
        Ok(doc)
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        let result = next.run(ctx).await?;
        self.hook.validated(&result)?;
        Ok(result)
    }

    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        let mut response = next.run(ctx, operation_name).await;
        self.hook.executed(&mut response);
        response
    }
}

/// The operation `name` selects in `doc`, as execution will pick it.
pub(crate) fn selected_operation<'d>(
    doc: &'d ExecutableDocument,
    name: Option<&str>,
) -> Option<&'d OperationDefinition> {
    select(doc, name).map(|(_, operation)| operation)
}

/// The operation `name` selects in `doc`, with its name in the document (`None` for the
/// one anonymous operation).
fn select<'d>(
    doc: &'d ExecutableDocument,
    name: Option<&str>,
) -> Option<(Option<&'d str>, &'d OperationDefinition)> {
    match (&doc.operations, name) {
        (DocumentOperations::Single(op), _) => Some((None, &op.node)),
        (DocumentOperations::Multiple(ops), Some(name)) => ops
            .get_key_value(name)
            .map(|(name, op)| (Some(name.as_str()), &op.node)),
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => ops
            .iter()
            .next()
            .map(|(name, op)| (Some(name.as_str()), &op.node)),
        _ => None,
    }
}

/// Refuses a request beyond the limits of [`super::cost`]: more root fields or aliases
/// than allowed (counted once the document is parsed, before it is validated), or a cost
/// above `max_complexity` (computed by validation, before anything runs). Every refusal is
/// `QUERY_TOO_COMPLEX`.
pub struct CostLimits {
    pub max_complexity: usize,
}

impl ExtensionFactory for CostLimits {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(OnSelected::new(CostCheck {
            max_complexity: self.max_complexity,
        }))
    }
}

struct CostCheck {
    max_complexity: usize,
}

/// Root fields and aliases of an operation, each fragment's counted once and added at
/// every spread (so a fragment spread ten times counts ten times, without walking it ten
/// times).
#[derive(Clone, Copy, Default)]
struct Counts {
    /// Fields of the outermost selection set, through fragments and inline fragments.
    top: usize,
    /// Aliased fields at any depth.
    aliases: usize,
}

impl Counts {
    fn add(&mut self, other: Counts) {
        self.top = self.top.saturating_add(other.top);
        self.aliases = self.aliases.saturating_add(other.aliases);
    }
}

struct Counter<'a> {
    doc: &'a ExecutableDocument,
    fragments: HashMap<&'a str, Counts>,
}

impl<'a> Counter<'a> {
    fn selection_set(&mut self, set: &'a SelectionSet) -> Counts {
        let mut counts = Counts::default();
        for selection in &set.items {
            match &selection.node {
                Selection::Field(field) => {
                    let inner = self.selection_set(&field.node.selection_set.node);
                    counts.add(Counts {
                        top: 1,
                        aliases: usize::from(field.node.alias.is_some())
                            .saturating_add(inner.aliases),
                    });
                }
                Selection::InlineFragment(fragment) => {
                    counts.add(self.selection_set(&fragment.node.selection_set.node));
                }
                Selection::FragmentSpread(spread) => {
                    counts.add(self.fragment(spread.node.fragment_name.node.as_str()));
                }
            }
        }
        counts
    }

    fn fragment(&mut self, name: &'a str) -> Counts {
        if let Some(counts) = self.fragments.get(name) {
            return *counts;
        }
        // A fragment that spreads itself counts nothing more (validation refuses it).
        self.fragments.insert(name, Counts::default());
        let counts = match self.doc.fragments.get(name) {
            Some(fragment) => self.selection_set(&fragment.node.selection_set.node),
            None => Counts::default(),
        };
        self.fragments.insert(name, counts);
        counts
    }
}

impl OnOperation for CostCheck {
    fn parsed(
        &self,
        _: &ExtensionContext<'_>,
        doc: &ExecutableDocument,
        operation: &OperationDefinition,
    ) -> ServerResult<()> {
        use super::cost::{MAX_ALIASES, MAX_ROOT_FIELDS};
        let counts = Counter {
            doc,
            fragments: HashMap::new(),
        }
        .selection_set(&operation.selection_set.node);
        if counts.top > MAX_ROOT_FIELDS {
            return Err(api_error(ApiError::TooCostly(format!(
                "the operation selects {} root fields, more than the {MAX_ROOT_FIELDS} a \
                 request may (docs/api-limits.md); split it into several requests",
                counts.top
            ))));
        }
        if counts.aliases > MAX_ALIASES {
            return Err(api_error(ApiError::TooCostly(format!(
                "the operation has {} aliased fields, more than the {MAX_ALIASES} a request \
                 may (docs/api-limits.md); split it into several requests",
                counts.aliases
            ))));
        }
        Ok(())
    }

    fn validated(&self, result: &ValidationResult) -> Result<(), Vec<ServerError>> {
        if result.complexity > self.max_complexity {
            return Err(vec![api_error(ApiError::TooCostly(format!(
                "the query costs {}, more than the {} a request may (each field's cost is in \
                 its description; docs/api-limits.md): ask for smaller pages or shorter \
                 periods, or split it into several requests",
                result.complexity, self.max_complexity
            )))]);
        }
        Ok(())
    }
}

/// Stops a query or mutation that runs longer than the deadline and answers
/// `DEADLINE_EXCEEDED`, over every transport (POST, GET, WebSocket). Subscriptions are
/// not bounded: they last as long as the client listens.
pub struct Deadline(pub Duration);

impl ExtensionFactory for Deadline {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(Deadline(self.0))
    }
}

#[async_graphql::async_trait::async_trait]
impl Extension for Deadline {
    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        match tokio::time::timeout(self.0, next.run(ctx, operation_name)).await {
            Ok(response) => response,
            Err(_) => Response::from_errors(vec![api_error(ApiError::DeadlineExceeded(self.0))]),
        }
    }
}

/// Counts and times every request by operation name and error code (see
/// [`crate::metrics::graphql_request`]). Registered first, so that it sees the codes the
/// other extensions add.
pub struct RequestMetrics;

impl ExtensionFactory for RequestMetrics {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(OnSelected::new(RequestMetricsRecorder::default()))
    }
}

#[derive(Default)]
struct RequestMetricsRecorder {
    /// The `operation` label, once the document is read.
    operation: Mutex<Option<String>>,
}

/// The name of the operation `name` selects in `doc`: [`crate::metrics::OPERATION_UNKNOWN`]
/// when there is no such operation, [`crate::metrics::OPERATION_ANONYMOUS`] when it has no
/// name.
fn selected_operation_label(doc: &ExecutableDocument, name: Option<&str>) -> String {
    use crate::metrics::{OPERATION_ANONYMOUS, OPERATION_UNKNOWN, operation_label};
    match select(doc, name) {
        // An anonymous operation asked for by a name goes by that name.
        Some((own, _)) => own
            .or(name)
            .map_or_else(|| OPERATION_ANONYMOUS.to_owned(), operation_label),
        None => OPERATION_UNKNOWN.to_owned(),
    }
}

impl OnOperation for RequestMetricsRecorder {
    fn document(&self, query: &str, doc: Option<&ExecutableDocument>, name: Option<&str>) {
        // A document refused after parsing (a mutation for a `read` token) is parsed again
        // for its label; only failures pay for that.
        let label = match doc {
            Some(doc) => Some(selected_operation_label(doc, name)),
            None => async_graphql::parser::parse_query(query)
                .ok()
                .map(|doc| selected_operation_label(&doc, name)),
        };
        *self.operation.lock().expect("not poisoned") = label;
    }

    fn answered(&self, response: &Response, elapsed: Duration) {
        let code = match response.errors.first() {
            None => crate::metrics::CODE_OK,
            Some(error) => code_of(error).unwrap_or("UNKNOWN"),
        };
        let operation = self
            .operation
            .lock()
            .expect("not poisoned")
            .take()
            .unwrap_or_else(|| crate::metrics::OPERATION_UNKNOWN.to_owned());
        crate::metrics::graphql_request(operation, code, elapsed);
    }
}

/// Puts every object's fields in the order the document asks for them. async-graphql
/// resolves sibling fields concurrently and keeps them in the order they finish; the spec
/// says a response keeps the selection set's order, and people reading a response (or
/// diffing two) expect it.
pub struct RequestedOrder;

impl ExtensionFactory for RequestedOrder {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(OnSelected::new(RequestedOrderKeeper::default()))
    }
}

#[derive(Default)]
struct RequestedOrderKeeper {
    order: Mutex<Option<KeyOrder>>,
}

/// The response keys of a selection set in the order they first appear (fragments
/// spread in place), each with the order of its own selection.
#[derive(Default)]
struct KeyOrder(async_graphql::indexmap::IndexMap<async_graphql::Name, KeyOrder>);

/// Deepest nesting followed (the depth limit refuses deeper documents anyway).
const MAX_ORDER_DEPTH: usize = 64;

impl KeyOrder {
    fn collect(&mut self, set: &SelectionSet, doc: &ExecutableDocument, depth: usize) {
        if depth > MAX_ORDER_DEPTH {
            return;
        }
        for selection in &set.items {
            match &selection.node {
                Selection::Field(field) => {
                    let key = field.node.response_key().node.clone();
                    self.0.entry(key).or_default().collect(
                        &field.node.selection_set.node,
                        doc,
                        depth + 1,
                    );
                }
                Selection::FragmentSpread(spread) => {
                    if let Some(fragment) = doc.fragments.get(&spread.node.fragment_name.node) {
                        self.collect(&fragment.node.selection_set.node, doc, depth + 1);
                    }
                }
                Selection::InlineFragment(inline) => {
                    self.collect(&inline.node.selection_set.node, doc, depth + 1);
                }
            }
        }
    }

    fn apply(&self, value: &mut async_graphql::Value) {
        match value {
            async_graphql::Value::Object(fields) => {
                fields.sort_by(|a, _, b, _| self.0.get_index_of(a).cmp(&self.0.get_index_of(b)));
                for (key, value) in fields.iter_mut() {
                    if let Some(order) = self.0.get(key) {
                        order.apply(value);
                    }
                }
            }
            async_graphql::Value::List(items) => items.iter_mut().for_each(|v| self.apply(v)),
            _ => {}
        }
    }
}

impl OnOperation for RequestedOrderKeeper {
    fn parsed(
        &self,
        _: &ExtensionContext<'_>,
        doc: &ExecutableDocument,
        operation: &OperationDefinition,
    ) -> ServerResult<()> {
        let mut order = KeyOrder::default();
        order.collect(&operation.selection_set.node, doc, 0);
        *self.order.lock().expect("not poisoned") = Some(order);
        Ok(())
    }

    fn executed(&self, response: &mut Response) {
        if let Some(order) = self.order.lock().expect("not poisoned").take() {
            order.apply(&mut response.data);
        }
    }
}

#[cfg(test)]
mod tests {
    use async_graphql::{EmptyMutation, EmptySubscription, Object, Schema};

    #[test]
    fn the_operation_label_is_the_name_execution_selects_by() {
        use crate::metrics::{OPERATION_ANONYMOUS, OPERATION_UNKNOWN};
        let label = |query: &str, name: Option<&str>| {
            let doc = async_graphql::parser::parse_query(query).expect("parses");
            super::selected_operation_label(&doc, name)
        };
        // One anonymous operation: anonymous, or the name it was asked for by.
        assert_eq!(label("{ a }", None), OPERATION_ANONYMOUS);
        assert_eq!(label("{ a }", Some("Asked")), "Asked");
        // Named operations: the one asked for, the only one, else none.
        let two = "query A { a } query B { b }";
        assert_eq!(label(two, Some("B")), "B");
        assert_eq!(label(two, Some("C")), OPERATION_UNKNOWN);
        assert_eq!(label(two, None), OPERATION_UNKNOWN);
        assert_eq!(label("query A { a }", None), "A");
    }

    struct Root;

    #[Object]
    impl Root {
        /// Fails the way an unexpected error would: without a code.
        async fn uncoded(&self) -> async_graphql::Result<i32> {
            Err(async_graphql::Error::new("boom"))
        }

        async fn number(&self, n: i32) -> i32 {
            n
        }
    }

    async fn code_of(query: &str) -> String {
        let schema = Schema::build(Root, EmptyMutation, EmptySubscription)
            .extension(super::ErrorCodes)
            .finish();
        let response = schema.execute(query).await;
        let error = response.errors.first().expect("an error");
        let code = error.extensions.as_ref().and_then(|e| e.get("code"));
        match code {
            Some(async_graphql::Value::String(code)) => code.clone(),
            other => panic!("no code: {other:?}"),
        }
    }

    #[tokio::test]
    async fn an_error_without_a_code_is_internal_not_bad_input() {
        assert_eq!(code_of("{ uncoded }").await, "INTERNAL_SERVER_ERROR");
        assert_eq!(code_of("{ number(n: \"x\") }").await, "BAD_USER_INPUT");
        assert_eq!(code_of("{ number(n: 1) ").await, "GRAPHQL_PARSE_FAILED");
        assert_eq!(code_of("{ nope }").await, "GRAPHQL_VALIDATION_FAILED");
        assert_eq!(
            code_of("query A { number(n: 1) } query B { number(n: 2) }").await,
            "OPERATION_RESOLUTION_FAILURE"
        );
    }
}
