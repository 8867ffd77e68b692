//! Narrowing the agenda: by company, kind, state or licence. Filters run
//! on the obligations the register returns, so the agenda, its JSON and the
//! calendar agree on what a filter keeps.

use chrono::NaiveDate;
use clap::{Args, ValueEnum};

use super::licence_arg;
use crate::domain::licence::LicenceNo;
use crate::domain::obligation::{Obligation, ObligationKind, State};
use crate::domain::uscc::Uscc;
use crate::store::Store;

#[derive(Debug, Args)]
pub struct Filter {
    /// Only this company's: its USCC, or part of its name (e.g. 示例).
    #[arg(long, value_name = "USCC|NAME")]
    company: Option<String>,
    /// Only obligations of this kind.
    #[arg(long, value_enum)]
    kind: Option<KindArg>,
    /// Only obligations in this state on the day (see --today).
    #[arg(long, value_enum)]
    state: Option<StateArg>,
    /// Only this licence's, e.g. 京B2-20201234.
    #[arg(long, value_name = "NO")]
    licence: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
#[value(rename_all = "snake_case")]
enum KindArg {
    Renewal,
    AnnualReport,
    ChangeFiling,
    NumberActivation,
    NumberOutlivesLicence,
}

impl KindArg {
    fn kind(self) -> ObligationKind {
        match self {
            KindArg::Renewal => ObligationKind::Renewal,
            KindArg::AnnualReport => ObligationKind::AnnualReport,
            KindArg::ChangeFiling => ObligationKind::ChangeFiling,
            KindArg::NumberActivation => ObligationKind::NumberActivation,
            KindArg::NumberOutlivesLicence => ObligationKind::NumberOutlivesLicence,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum StateArg {
    Open,
    Overdue,
    Expired,
}

impl StateArg {
    fn state(self) -> State {
        match self {
            StateArg::Open => State::Open,
            StateArg::Overdue => State::Overdue,
            StateArg::Expired => State::Expired,
        }
    }
}

/// A company as the user named it.
enum CompanyArg {
    Uscc(Uscc),
    Name(String),
}

impl Filter {
    /// The web console's agenda filter: the same checks as the options.
    pub(crate) fn new(
        company: Option<String>,
        kind: Option<ObligationKind>,
        state: Option<State>,
    ) -> Filter {
        Filter {
            company,
            kind: kind.map(|kind| match kind {
                ObligationKind::Renewal => KindArg::Renewal,
                ObligationKind::AnnualReport => KindArg::AnnualReport,
                ObligationKind::ChangeFiling => KindArg::ChangeFiling,
                ObligationKind::NumberActivation => KindArg::NumberActivation,
                ObligationKind::NumberOutlivesLicence => KindArg::NumberOutlivesLicence,
            }),
            state: state.map(|state| match state {
                State::Open => StateArg::Open,
                State::Overdue => StateArg::Overdue,
                State::Expired => StateArg::Expired,
            }),
            licence: None,
        }
    }

    /// Keeps the obligations every given filter accepts.
    pub fn apply(
        &self,
        store: &Store,
        obligations: Vec<Obligation>,
        today: NaiveDate,
    ) -> anyhow::Result<Vec<Obligation>> {
        let licence: Option<LicenceNo> = self.licence.as_deref().map(licence_arg).transpose()?;
        let company = match self.company.as_deref().map(str::trim) {
            None => None,
            Some("") => anyhow::bail!("--company: empty (give a USCC or part of a name)"),
            Some(text) => match text.parse::<Uscc>() {
                Ok(uscc) => Some(CompanyArg::Uscc(uscc)),
                // 18 letters and digits are a mistyped USCC, not a name:
                // say which check failed rather than match nothing.
                Err(error)
                    if text.len() == 18 && text.chars().all(|c| c.is_ascii_alphanumeric()) =>
                {
                    return Err(error.into());
                }
                Err(_) => Some(CompanyArg::Name(text.to_lowercase())),
            },
        };
        let holders = match &company {
            Some(CompanyArg::Uscc(_)) => {
                let licences: Vec<String> =
                    obligations.iter().map(|o| o.licence.to_string()).collect();
                store.holders(&licences)?
            }
            _ => Default::default(),
        };
        Ok(obligations
            .into_iter()
            .filter(|o| self.kind.is_none_or(|kind| o.kind == kind.kind()))
            .filter(|o| {
                self.state
                    .is_none_or(|state| o.state(today) == state.state())
            })
            .filter(|o| licence.as_ref().is_none_or(|licence| &o.licence == licence))
            .filter(|o| match &company {
                None => true,
                Some(CompanyArg::Name(part)) => o.company.to_lowercase().contains(part),
                Some(CompanyArg::Uscc(uscc)) => holders
                    .get(&o.licence.to_string())
                    .is_some_and(|holder| holder.uscc == uscc.as_str()),
            })
            .collect())
    }
}
