//! One file per area of the UI. Handlers read through [`UiState`] and
//! answer whole HTML pages; a failure is a page that says what went wrong,
//! with the status Smelt's own routes answer for its error code
//! (`ErrorCode::smelt_status`: 400 for a bad filter, 404 for an unknown run,
//! 409 for a clash, 503 for a store that is down).

pub mod artifacts;
pub mod audit;
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

    pub fn forbidden(message: impl Into<String>) -> PageError {
        PageError {
            status: StatusCode::FORBIDDEN,
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
    /// Every crate's error converts into a tracking [`Error`] keeping its
    /// code; the status is the code's, by the one rule of Smelt's routes.
    fn from(error: Error) -> PageError {
        let status = StatusCode::from_u16(error.code.smelt_status())
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        if error.code == ErrorCode::InternalError || error.code == ErrorCode::Unknown {
            tracing::error!(message = %error.message, "a UI page failed");
        }
        PageError {
            status,
            message: error.message,
        }
    }
}

impl From<smelt_trainer::TrainError> for PageError {
    fn from(error: smelt_trainer::TrainError) -> PageError {
        Error::from(error).into()
    }
}

impl From<smelt_monitor::service::MonitorError> for PageError {
    fn from(error: smelt_monitor::service::MonitorError) -> PageError {
        Error::from(error).into()
    }
}

impl From<smelt_serving::ServeError> for PageError {
    fn from(error: smelt_serving::ServeError) -> PageError {
        Error::from(error).into()
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let title = match self.status {
            StatusCode::NOT_FOUND => "Not found",
            StatusCode::FORBIDDEN => "Not allowed",
            status if status.is_client_error() => "Cannot show this",
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
