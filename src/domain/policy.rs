//! Every figure the rules and the reminder schedule use. The defaults are the
//! regulations' and the schedules `config.example.toml` lists under
//! `[policy.*]`; a deployment may change any of them.

/// When a reminder stage falls, before the calendar moves it to a working day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StageAt {
    /// Days relative to the due day: −30 is thirty days before, 0 the due day.
    Days(i64),
    /// A fixed day (month, day) in the year of the due day: the annual report
    /// window's 1 January and 1 March.
    MonthDay(u32, u32),
}

/// The reminder schedule of one kind of obligation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    pub stages: Vec<StageAt>,
    /// After the due day, a reminder every this many days until done.
    pub overdue_every_days: Option<u32>,
    /// Stages this many days before the due day or later are warnings;
    /// earlier ones are information; the due day and after are critical.
    pub warning_from_days: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// Renewal must be applied for this many days before expiry.
    pub renewal_lead_days: i64,
    /// Renewal reminders start this many days before expiry.
    pub renewal_opens_days: i64,
    /// A company change must be filed within this many days.
    pub change_filing_days: i64,
    /// An allocated number must be in service within this many months.
    pub activation_months: u32,
    /// Usual validity of a licence, for a default expiry date.
    pub licence_years: u32,
    /// How many business years before last year an unfiled annual report is
    /// still chased (0: only the report due in the current window).
    pub annual_report_lookback_years: i32,
    pub renewal: Schedule,
    pub annual_report: Schedule,
    pub change_filing: Schedule,
    pub number_activation: Schedule,
    pub number_outlives_licence: Schedule,
}

impl Default for Policy {
    fn default() -> Self {
        use StageAt::{Days, MonthDay};
        Policy {
            renewal_lead_days: 90,
            renewal_opens_days: 210,
            change_filing_days: 30,
            activation_months: 6,
            licence_years: 5,
            annual_report_lookback_years: 1,
            renewal: Schedule {
                stages: [-120, -90, -60, -30, -14, -7, -1, 0].map(Days).to_vec(),
                overdue_every_days: Some(7),
                warning_from_days: -30,
            },
            annual_report: Schedule {
                stages: vec![
                    MonthDay(1, 1),
                    MonthDay(3, 1),
                    Days(-14),
                    Days(-7),
                    Days(-3),
                    Days(-1),
                    Days(0),
                ],
                overdue_every_days: Some(7),
                warning_from_days: -14,
            },
            change_filing: Schedule {
                // −30 is the day the change happened: "on record".
                stages: [-30, -14, -7, -3, -1, 0].map(Days).to_vec(),
                overdue_every_days: Some(3),
                warning_from_days: -7,
            },
            number_activation: Schedule {
                stages: [-60, -30, -14, -7, -1, 0].map(Days).to_vec(),
                overdue_every_days: Some(7),
                warning_from_days: -30,
            },
            number_outlives_licence: Schedule {
                stages: vec![Days(0)],
                overdue_every_days: Some(1),
                warning_from_days: 0,
            },
        }
    }
}
