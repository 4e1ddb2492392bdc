//! One file per area of the UI. Handlers read through [`UiState`] and
//! answer whole HTML pages; a failure is a page that says what went wrong,
//! with the status a client would expect (400 for a bad filter, 404 for an
//! unknown run).

pub mod artifacts;
pub mod compare;
pub mod endpoints;
pub mod experiments;
pub mod jobs;
mod leaderboard;
pub mod models;
pub mod monitors;
pub mod run;
pub mod runs;

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use maud::Markup;
use smelt_tracking::{Error, ErrorCode};

use crate::UiState;
use crate::layout::error_page;

pub type Shared = State<Arc<UiState>>;

/// A rendered page.
pub struct Page(pub Markup);

impl IntoResponse for Page {
    fn into_response(self) -> Response {
        Html(self.0.into_string()).into_response()
    }
}

/// A page that could not be rendered: status and what to tell the person.
#[derive(Debug)]
pub struct PageError {
    pub status: StatusCode,
    pub message: String,
}

impl PageError {
    pub fn not_found(message: impl Into<String>) -> PageError {
        PageError {
            status: StatusCode::NOT_FOUND,
            message: message.into(),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> PageError {
        PageError {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
        }
    }
}

impl From<Error> for PageError {
    fn from(error: Error) -> PageError {
        let status = match error.code {
            ErrorCode::ResourceDoesNotExist => StatusCode::NOT_FOUND,
            ErrorCode::InvalidParameterValue | ErrorCode::BadRequest => StatusCode::BAD_REQUEST,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        if status == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::error!(message = %error.message, "a UI page failed");
        }
        PageError {
            status,
            message: error.message,
        }
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let title = match self.status {
            StatusCode::NOT_FOUND => "Not found",
            StatusCode::BAD_REQUEST => "Cannot show this",
            _ => "Something went wrong",
        };
        (
            self.status,
            Html(error_page(title, &self.message).into_string()),
        )
            .into_response()
    }
}

pub type PageResult = Result<Page, PageError>;
