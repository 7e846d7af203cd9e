//! The day step: the whole of MODEL.md section 3, in order.
//!
//! `Simulation` holds one run's state; `step` advances it by one business day, drawing every
//! random number from the caller's generator in a fixed order, and appends the day's
//! records. Nothing here reads a clock, does I/O or keeps global state. The central bank's
//! operations live in [`policy`].

mod policy;

use std::collections::VecDeque;
use std::sync::Arc;

use rand::Rng;
use rand_distr::weighted::WeightedAliasIndex;
use rand_distr::{Distribution, LogNormal, Pareto, StandardNormal};

use crate::autonomous::AutonomousFactors;
use crate::bank::Bank;
use crate::calendar::{BusinessDay, Calendar, Date};
use crate::central_bank::CentralBank;
use crate::framework;
use crate::market::{Loan, Market, MarketScratch, Network, OtcMarket, Participant};
use crate::money::{Money, interest, split_pro_rata};
use crate::nonbank::NonBanks;
use crate::operations::{AuctionResult, Bid, Direction, OpenOperation, Position};
use crate::params::{CentralBankParams, MarketMechanism, NonBankParams, Params, SizeDistribution};
use crate::records::{
    BankDayRecord, DayRecord, OperationRecord, RecordOptions, RunRecords, SecuritiesRecord,
    TradeRecord,
};
use crate::remuneration::{MarginalValue, Remuneration};
use crate::requirement::RequirementBook;
use crate::securities::{PendingTrade, SecuritiesBook};

/// The banking system's fixed characteristics: bank sizes, largest first, and (for the OTC
/// market) the credit network.
///
/// Drawn once per batch from its own stream, so every Monte Carlo run of a batch simulates
/// the same banks under different shocks.
#[derive(Clone, Debug, PartialEq)]
pub struct Population {
    pub sizes: Vec<f64>,
    /// Shared by every run of the batch; `None` for the call market.
    pub network: Option<Arc<Network>>,
}

impl Population {
    pub fn draw<R: Rng + ?Sized>(params: &Params, rng: &mut R) -> Population {
        let n = params.banks.count as usize;
        let mean = params.banks.mean_size.as_f64();
        let mut sizes: Vec<f64> = match params.banks.size_distribution {
            SizeDistribution::Identical => vec![1.0; n],
            SizeDistribution::LogNormal { sigma } => {
                let d = LogNormal::new(0.0, sigma).expect("validated sigma");
                (0..n).map(|_| d.sample(rng)).collect()
            }
            SizeDistribution::Pareto { alpha } => {
                let d = Pareto::new(1.0, alpha).expect("validated alpha");
                (0..n).map(|_| d.sample(rng)).collect()
            }
        };
        // Rescale so the mean size is exactly the scenario's.
        let sample_mean = sizes.iter().sum::<f64>() / n.max(1) as f64;
        for s in &mut sizes {
            *s *= mean / sample_mean;
        }
        sizes.sort_by(|a, b| b.total_cmp(a));
        // Drawn after the sizes, so a call-market population is unchanged by its existence.
        let network = match &params.market.mechanism {
            MarketMechanism::Call => None,
            MarketMechanism::Otc(otc) => Some(Arc::new(Network::build(&otc.network, &sizes, rng))),
        };
        Population { sizes, network }
    }
}

/// Something that broke an accounting identity: a bug, never a modelling outcome.
#[derive(Clone, Debug, PartialEq)]
pub struct InvariantViolation {
    pub day: u32,
    pub what: String,
}

impl std::fmt::Display for InvariantViolation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "day {}: {}", self.day, self.what)
    }
}

impl std::error::Error for InvariantViolation {}

/// A bank repays an overnight central-bank loan with interest (the caller has already
/// removed the claim from both sheets). Returns the reserves drained.
fn repay_central_bank(
    bank: &mut Bank,
    principal: Money,
    rate_bp: f64,
    year_fraction: f64,
    cb_capital: &mut Money,
) -> Money {
    let owed = interest(principal, rate_bp, year_fraction);
    bank.reserves -= principal;
    bank.income(-owed);
    *cb_capital += owed;
    principal + owed
}

/// Draws one late-payment transfer per bank into `out`: independent normal shocks of sd
/// `scale` × the bank's raw late-shock sd, netted into transfers (each bank absorbs its
/// variance share of the sum), rounded to whole units with the rounding residual on the
/// bank with the largest variance (bank 0). The transfers sum to zero. Returns false (and
/// draws nothing) when there are no late shocks.
fn netted_shocks<R: Rng + ?Sized>(
    banks: &[Bank],
    scale: f64,
    rng: &mut R,
    draws: &mut Vec<(f64, f64)>,
    out: &mut Vec<Money>,
) -> bool {
    let n = banks.len();
    out.clear();
    if n < 2 || banks.iter().all(|b| b.late_shock_raw_sd == 0.0) {
        return false;
    }
    draws.clear();
    let mut total = 0.0;
    let mut total_var = 0.0;
    for b in banks {
        let sd = b.late_shock_raw_sd * scale;
        let z: f64 = StandardNormal.sample(rng);
        draws.push((sd, sd * z));
        total += sd * z;
        total_var += sd * sd;
    }
    let mut residual = Money::ZERO;
    for &(sd, raw) in draws.iter() {
        let shock = Money::from_f64_rounded(raw - total * sd * sd / total_var);
        residual += shock;
        out.push(shock);
    }
    // Bank 0 is the largest, so it has the largest variance.
    out[0] -= residual;
    true
}

/// What `Simulation::market_statistics` reports for the day's record.
struct MarketStats {
    percentiles: Option<[f64; 4]>,
    active_lenders: u32,
    active_borrowers: u32,
    top5_lender_share: Option<f64>,
}

/// Volume-weighted mean rate of (volume, Σ amount × rate); `None` for no volume.
fn mean_rate((volume, weighted): (Money, f64)) -> Option<f64> {
    (volume > Money::ZERO).then(|| weighted / volume.as_f64())
}

/// Volume-weighted percentiles of loans sorted by rate: for each share p, the rate of the
/// loan at which the cumulative volume first reaches p × `volume` (the convention of the
/// New York Fed's published EFFR percentiles). A one-rate day gives that rate everywhere.
pub fn volume_weighted_percentiles(
    sorted: &[(f64, Money)],
    volume: Money,
    shares: [f64; 4],
) -> [f64; 4] {
    let mut out = [f64::NAN; 4];
    let mut cumulative = Money::ZERO;
    let mut k = 0;
    for &(rate, amount) in sorted {
        cumulative += amount;
        while k < 4 && cumulative.as_f64() >= shares[k] * volume.as_f64() {
            out[k] = rate;
            k += 1;
        }
    }
    // Rounding cannot leave a share unreached (the shares are below 1), but be total.
    let last = sorted.last().map_or(f64::NAN, |x| x.0);
    for o in out.iter_mut().skip(k) {
        *o = last;
    }
    out
}

/// One Monte Carlo run's state.
#[derive(Clone, Debug)]
pub struct Simulation {
    params: Params,
    calendar: Calendar,
    banks: Vec<Bank>,
    central_bank: CentralBank,
    autonomous: AutonomousFactors,
    market: Market,
    /// The central bank's regime in force today (the scenario's, then the timeline's).
    regime: CentralBankParams,
    /// The non-banks' facility terms in force today.
    non_bank_terms: Option<NonBankParams>,
    next_event: usize,
    /// Each bank's remuneration tiers over its excess balance under the regime.
    tiers: Vec<Remuneration>,
    requirements: Option<RequirementBook>,
    /// Requirement remuneration and penalties of a window that closed last night, paid
    /// this morning with the other overnight interest.
    requirement_settlement: Vec<Money>,
    non_banks: NonBanks,
    /// Marginal-value schedules, banks first, then non-banks; rebuilt every day.
    schedules: Vec<MarginalValue>,
    size_weights: Vec<f64>,
    payee_choice: Option<WeightedAliasIndex<f64>>,
    payment_amount: Option<LogNormal<f64>>,
    /// Payments waiting for liquidity, per payer, first in first out: (payee, amount).
    queues: Vec<VecDeque<(u32, Money)>>,
    queued_in: Vec<Money>,
    queued_out: Vec<Money>,
    overdraft_fee_accrued: Vec<f64>,
    /// Each bank's long-run share of the system's customer deposits.
    deposit_shares: Vec<f64>,
    /// Yesterday's overnight interbank loans, repaid this morning.
    open_loans: Vec<Loan>,
    /// Rate at which last night's facility loans were opened.
    open_lending_rate_bp: f64,
    open_reverse_repo_rate_bp: f64,
    open_year_fraction: f64,
    /// Reserves created (+) or destroyed (-) by flows with the central bank and by
    /// autonomous factors since the last invariant check.
    reserve_flows: Money,
    reserves_at_last_check: Money,
    day: u32,
    market_scratch: MarketScratch,
    participants: Vec<Participant>,
    loans_today: Vec<Loan>,
    /// Per bank, today's interbank lending and borrowing: (volume, Σ amount × rate).
    lent_today: Vec<(Money, f64)>,
    borrowed_today: Vec<(Money, f64)>,
    /// Today's (rate, amount) pairs, sorted by rate for the percentiles.
    rates_by_volume: Vec<(f64, Money)>,
    split: Vec<Money>,
    /// Each bank's balance above what counted toward its requirement tonight.
    excess_balances: Vec<Money>,
    late_draws: Vec<(f64, f64)>,
    work: Vec<u32>,
    /// Share of the late-payment variance that arrives during the OTC session.
    late_payment_share: f64,
    /// Today's in-session late payments: one netted transfer per bank for each gap between
    /// rounds, round by round (empty without interleaving).
    in_session: Vec<Money>,
    /// Who holds which securities; the central bank's by maturity.
    securities: SecuritiesBook,
    /// Coupons are paid for the days since this date.
    last_coupon_date: Date,
    /// Temporary operations outstanding (fine-tuning, main operations), in order opened.
    open_operations: Vec<OpenOperation>,
    /// Today's operations, moved to the run's records at the close.
    operations_today: Vec<OperationRecord>,
    /// Whether each operation's effect on reserves is verified (on once
    /// `check_invariants` has been called).
    checking: bool,
    /// The first operation whose reserves moved differently from its record.
    operation_error: Option<String>,
    pending_scratch: Vec<PendingTrade>,
    split_extra: Vec<Money>,
    weights_scratch: Vec<f64>,
    bids_scratch: Vec<Bid>,
}

impl Simulation {
    /// The system on the morning of the first day: each bank holds its share of the
    /// central bank's reserve target; the central bank's securities back reserves, currency
    /// and the government's account.
    pub fn new(params: &Params, population: &Population) -> Simulation {
        let calendar = Calendar::new(params.calendar.start, params.calendar.business_days);
        let n = population.sizes.len();
        let sizes = &population.sizes;
        let mut reserves = Vec::new();
        split_pro_rata(params.central_bank.reserve_target, sizes, &mut reserves);

        let mean = params.banks.mean_size.as_f64().max(1.0);
        let raw_sd: Vec<f64> = sizes
            .iter()
            .map(|s| {
                params.late_shock.sd.as_f64() * (s / mean).powf(params.late_shock.size_elasticity)
            })
            .collect();
        let total_var: f64 = raw_sd.iter().map(|s| s * s).sum();

        let banks: Vec<Bank> = (0..n)
            .map(|i| {
                let size = Money::from_f64_rounded(sizes[i]);
                let securities = Money::from_f64_rounded(sizes[i] * params.banks.securities_share);
                let equity = Money::from_f64_rounded(sizes[i] * params.banks.capital_ratio);
                let loans = size - securities;
                let reserves = reserves[i];
                // Late shocks are transfers: each bank's raw shock is netted against its
                // variance share of the total, which leaves sd_i * sqrt(1 - sd_i²/Σsd²).
                let sd = raw_sd[i];
                let late_shock_sd = if total_var > 0.0 {
                    sd * (1.0 - sd * sd / total_var).max(0.0).sqrt()
                } else {
                    0.0
                };
                Bank {
                    size: sizes[i],
                    late_shock_raw_sd: sd,
                    collateral: Money::from_f64_rounded(
                        sizes[i] * params.intraday.collateral_share,
                    ),
                    late_shock_sd,
                    reserves,
                    securities,
                    loans,
                    interbank_lent: Money::ZERO,
                    cb_term_deposit: Money::ZERO,
                    deposits: reserves + securities + loans - equity,
                    interbank_borrowed: Money::ZERO,
                    lending_facility: Money::ZERO,
                    cb_repo: Money::ZERO,
                    equity,
                }
            })
            .collect();

        let total_deposits: f64 = banks.iter().map(|b| b.deposits.as_f64()).sum();
        let deposit_shares = banks
            .iter()
            .map(|b| b.deposits.as_f64() / total_deposits.max(1.0))
            .collect();
        let autonomous = AutonomousFactors::new(&params.autonomous, &calendar);
        let total_reserves: Money = banks.iter().map(|b| b.reserves).sum();
        let non_banks = params
            .non_banks
            .as_ref()
            .map_or_else(NonBanks::default, |nb| NonBanks::new(nb.lenders, nb.cash));
        let non_bank_cash: Money = non_banks.cash.iter().copied().sum();
        let bank_securities: Vec<Money> = banks.iter().map(|b| b.securities).collect();
        let start = calendar
            .days()
            .first()
            .map_or(params.calendar.start, |d| d.date);
        let securities = SecuritiesBook::new(
            &params.securities,
            &bank_securities,
            total_reserves + autonomous.currency() + autonomous.government() + non_bank_cash,
            &calendar,
            start,
        );
        let central_bank = CentralBank {
            securities: total_reserves
                + autonomous.currency()
                + autonomous.government()
                + non_bank_cash,
            reserves: total_reserves,
            currency: autonomous.currency(),
            government: autonomous.government(),
            non_bank_accounts: non_bank_cash,
            ..CentralBank::default()
        };
        let regime = params.central_bank.clone();
        let requirements = regime
            .reserve_requirement
            .clone()
            .map(|rr| RequirementBook::new(rr, n));
        let tiers = framework::bank_tiers(&regime, sizes, &vec![Money::ZERO; n]);
        let late_payment_share = match &params.market.mechanism {
            MarketMechanism::Otc(otc) if otc.rounds >= 2 => otc.late_payment_share,
            _ => 0.0,
        };
        let market = match &params.market.mechanism {
            MarketMechanism::Call => Market::Call,
            MarketMechanism::Otc(otc) => {
                let network = population
                    .network
                    .clone()
                    .filter(|net| net.len() == n)
                    .expect("an OTC market needs a population drawn with its parameters");
                Market::Otc(Box::new(OtcMarket::new(otc, network)))
            }
        };

        let payee_choice = if n >= 2 && params.payments.per_bank_per_period > 0.0 {
            Some(WeightedAliasIndex::new(sizes.clone()).expect("positive sizes"))
        } else {
            None
        };
        let payment_amount = if params.payments.mean_amount > Money::ZERO {
            let cv = params.payments.amount_cv;
            let sigma2 = (1.0 + cv * cv).ln();
            let mu = params.payments.mean_amount.as_f64().ln() - 0.5 * sigma2;
            Some(LogNormal::new(mu, sigma2.sqrt()).expect("validated payment parameters"))
        } else {
            None
        };

        let lenders = n + non_banks.len();
        Simulation {
            params: params.clone(),
            calendar,
            central_bank,
            autonomous,
            market,
            regime,
            non_bank_terms: params.non_banks.clone(),
            next_event: 0,
            tiers,
            requirements,
            requirement_settlement: vec![Money::ZERO; n],
            schedules: Vec::new(),
            non_banks,
            size_weights: sizes.clone(),
            payee_choice,
            payment_amount,
            queues: vec![VecDeque::new(); n],
            queued_in: vec![Money::ZERO; n],
            queued_out: vec![Money::ZERO; n],
            overdraft_fee_accrued: vec![0.0; n],
            deposit_shares,
            open_loans: Vec::new(),
            open_lending_rate_bp: params.central_bank.lending_rate_bp,
            open_reverse_repo_rate_bp: 0.0,
            open_year_fraction: 0.0,
            reserve_flows: Money::ZERO,
            reserves_at_last_check: total_reserves,
            day: 0,
            market_scratch: MarketScratch::default(),
            participants: Vec::with_capacity(n),
            loans_today: Vec::new(),
            // Lenders include the non-banks, numbered after the banks.
            lent_today: vec![(Money::ZERO, 0.0); lenders],
            borrowed_today: vec![(Money::ZERO, 0.0); n],
            rates_by_volume: Vec::new(),
            split: Vec::with_capacity(n),
            excess_balances: Vec::with_capacity(n),
            late_draws: Vec::with_capacity(n),
            work: Vec::new(),
            late_payment_share,
            in_session: Vec::new(),
            securities,
            last_coupon_date: start,
            open_operations: Vec::new(),
            operations_today: Vec::new(),
            checking: false,
            operation_error: None,
            pending_scratch: Vec::new(),
            split_extra: Vec::with_capacity(n),
            weights_scratch: Vec::with_capacity(n),
            bids_scratch: Vec::new(),
            banks,
        }
    }

    pub fn banks(&self) -> &[Bank] {
        &self.banks
    }

    pub fn central_bank(&self) -> &CentralBank {
        &self.central_bank
    }

    pub fn calendar(&self) -> &Calendar {
        &self.calendar
    }

    /// The market's inputs as of the last simulated day: participants (banks, then
    /// non-banks) and their marginal-value schedules. For benchmarks and diagnostics.
    pub fn last_market(&self) -> (&[Participant], &[MarginalValue]) {
        (&self.participants, &self.schedules)
    }

    /// Business days simulated so far.
    pub fn day(&self) -> u32 {
        self.day
    }

    pub fn is_finished(&self) -> bool {
        self.day as usize >= self.calendar.len()
    }

    /// Simulates the next business day and appends its records to `out`.
    pub fn step<R: Rng + ?Sized>(
        &mut self,
        rng: &mut R,
        options: RecordOptions,
        out: &mut RunRecords,
    ) {
        let bd = self.calendar.days()[self.day as usize];
        let today = bd.index;

        // 0. The policy regime in force today; requirements and tiers for it.
        let regime_changed = self.apply_timeline(&bd);
        let period_started = self.begin_requirement_day(today, regime_changed);
        if regime_changed || period_started {
            let required = self.required_reserves();
            self.tiers = framework::bank_tiers(&self.regime, &self.size_weights, &required);
        }
        let last_night = self
            .requirements
            .as_ref()
            .is_some_and(|b| b.is_last_night(today));

        // 1. Morning: last night's positions and maturing operations settle with interest;
        //    coupons, maturing securities and outright trades settle; autonomous factors,
        //    and the central bank's operations against its forecast of them.
        self.settle_maturities(today);
        self.securities_morning(&bd);
        self.revert_deposits();
        let (d_currency, d_government) = self.autonomous.advance(&self.params.autonomous, &bd, rng);
        let autonomous_effect = -(d_currency + d_government);
        let target = self.regime.reserve_target + self.requirement_need(&bd, last_night);
        let main_today = self.main_operation_today(&bd);
        let forecast_needed = self.regime.fine_tuning.enabled
            || main_today
            || self.regime.balance_sheet.pomo.is_some();
        let forecast = self.forecast_autonomous(autonomous_effect, forecast_needed, rng);
        self.outright_trades(&bd, target, forecast);
        if main_today {
            self.main_operation(&bd, last_night, target, forecast);
        }
        let fine_tuning_amount = self.fine_tune(&bd, target, forecast);
        self.apply_autonomous(d_currency, d_government);

        // 2. Intraday payments.
        let (intraday_credit_peak, queued_payments) = self.run_payments(rng, &bd);

        // 3. The interbank market.
        self.build_participants(&bd, last_night);
        self.draw_in_session_payments(rng);
        self.loans_today.clear();
        self.market.trade(
            &self.participants,
            &self.schedules,
            &self.in_session,
            &mut self.loans_today,
            &mut self.market_scratch,
            rng,
        );
        // The payments that arrived between rounds settle with the loans.
        let n = self.banks.len();
        for installment in self.in_session.chunks(n.max(1)) {
            for (bank, flow) in self.banks.iter_mut().zip(installment) {
                bank.customer_flow(*flow);
            }
        }
        let (volume, weighted_rate, nonbank_lending) = self.settle_loans(today, options, out);
        let trade_count = self.loans_today.len() as u32;
        std::mem::swap(&mut self.open_loans, &mut self.loans_today);
        let market_stats = self.market_statistics(volume);

        // Queued payments settle now if they can, and at the close regardless: the
        // lending facility covers whatever shortfall that leaves.
        for i in 0..self.banks.len() {
            self.release_queue(i as u32);
        }
        self.settle_all_queued();

        // 4. The late payment shock.
        self.late_shock(rng);
        let reserves_total: Money = self.banks.iter().map(|b| b.reserves).sum();

        // 5. End of day: fees, standing facilities, requirement and remuneration.
        let year_fraction = self
            .params
            .calendar
            .day_count
            .year_fraction(bd.overnight_days);
        self.charge_overdraft_fees();
        let lending_facility_use = self.lending_facility();
        let deposit_facility_use = self.remunerate(&bd, last_night, year_fraction);
        let reverse_repo_use = self.non_banks_evening(year_fraction);
        self.open_lending_rate_bp = self.regime.lending_rate_bp;
        self.open_year_fraction = year_fraction;

        let reserves_required = self
            .requirements
            .as_ref()
            .map_or(Money::ZERO, |b| b.required.iter().copied().sum());
        out.days.push(DayRecord {
            day: today,
            date: bd.date,
            overnight_rate_bp: (volume > Money::ZERO).then(|| weighted_rate / volume.as_f64()),
            volume,
            trade_count,
            policy_rate_bp: self.regime.policy_rate_bp,
            deposit_rate_bp: self.regime.deposit_rate_bp,
            lending_rate_bp: self.regime.lending_rate_bp,
            reserves_total,
            reserves_target: target,
            lending_facility_use,
            deposit_facility_use,
            fine_tuning_amount,
            autonomous_factors: autonomous_effect,
            intraday_credit_peak,
            queued_payments,
            reserves_required,
            maintenance_day: self
                .requirements
                .as_ref()
                .map_or(0, |b| b.maintenance_day(today)),
            nonbank_lending,
            reverse_repo_use,
            rate_p01_bp: market_stats.percentiles.map(|p| p[0]),
            rate_p25_bp: market_stats.percentiles.map(|p| p[1]),
            rate_p75_bp: market_stats.percentiles.map(|p| p[2]),
            rate_p99_bp: market_stats.percentiles.map(|p| p[3]),
            active_lenders: market_stats.active_lenders,
            active_borrowers: market_stats.active_borrowers,
            top5_lender_share: market_stats.top5_lender_share,
            cb_securities: self.central_bank.securities,
            cb_repo_lending: self.central_bank.repo_lending,
            cb_lending_facility: self.central_bank.lending_facility,
            cb_reserves: self.central_bank.reserves,
            cb_term_deposits: self.central_bank.term_deposits,
            cb_currency: self.central_bank.currency,
            cb_government: self.central_bank.government,
            cb_other_liabilities: self.central_bank.non_bank_accounts
                + self.central_bank.reverse_repos,
            cb_capital: self.central_bank.capital,
        });
        out.operations.append(&mut self.operations_today);
        for (c, class) in self.params.securities.iter().enumerate() {
            out.securities.push(SecuritiesRecord {
                day: today,
                class: class.name.clone(),
                central_bank: self.securities.central_bank_total(c),
                banks: self.securities.banks_total(c),
                investors: self.securities.investor_holdings[c],
            });
        }
        if options.banks {
            for (i, b) in self.banks.iter().enumerate() {
                out.banks.push(BankDayRecord {
                    day: today,
                    bank: i as u32,
                    reserves: b.reserves,
                    securities: b.securities,
                    loans: b.loans,
                    interbank_lent: b.interbank_lent,
                    cb_term_deposit: b.cb_term_deposit,
                    deposits: b.deposits,
                    interbank_borrowed: b.interbank_borrowed,
                    lending_facility: b.lending_facility,
                    cb_repo: b.cb_repo,
                    equity: b.equity,
                    deposit_facility: self.excess_balances[i],
                    required_reserves: self
                        .requirements
                        .as_ref()
                        .map_or(Money::ZERO, |r| r.required[i]),
                    avg_borrowing_rate_bp: mean_rate(self.borrowed_today[i]),
                    avg_lending_rate_bp: mean_rate(self.lent_today[i]),
                });
            }
        }
        self.day += 1;
    }

    /// Switches to the timeline's regime when an event starts today (or over the weekend
    /// before). Returns whether anything changed.
    fn apply_timeline(&mut self, bd: &BusinessDay) -> bool {
        let mut changed = false;
        while let Some(event) = self.params.policy_timeline.get(self.next_event) {
            if event.date > bd.date {
                break;
            }
            self.regime = event.central_bank.clone();
            if let (Some(terms), Some(new)) = (&mut self.non_bank_terms, &event.non_banks) {
                terms.idle_rate_bp = new.idle_rate_bp;
                terms.reverse_repo = new.reverse_repo.clone();
            }
            self.next_event += 1;
            changed = true;
        }
        changed
    }

    /// Starts a maintenance period or averaging window if one begins today; returns whether
    /// a period (and so new requirements) began.
    fn begin_requirement_day(&mut self, today: u32, regime_changed: bool) -> bool {
        let wanted = self.regime.reserve_requirement.clone();
        let restart = match (&mut self.requirements, wanted) {
            (_, None) => {
                self.requirements = None;
                return false;
            }
            (Some(book), Some(rr)) => {
                let differs = book.params != rr;
                book.params = rr;
                regime_changed && differs
            }
            (None, Some(rr)) => {
                self.requirements = Some(RequirementBook::new(rr, self.banks.len()));
                true
            }
        };
        let book = self.requirements.as_mut().expect("set above");
        book.begin_day(today, self.calendar.days(), &self.banks, restart)
    }

    fn required_reserves(&self) -> Vec<Money> {
        self.requirements.as_ref().map_or_else(
            || vec![Money::ZERO; self.banks.len()],
            |b| b.required.clone(),
        )
    }

    /// Reserves banks need tonight for their requirements, for the central bank's target:
    /// the average requirement on ordinary days, what is left to meet on the last night.
    fn requirement_need(&self, bd: &BusinessDay, last_night: bool) -> Money {
        match &self.requirements {
            Some(book) if book.params.enforced => {
                if last_night {
                    (0..self.banks.len())
                        .map(|i| book.need_tonight(i, bd.overnight_days))
                        .sum()
                } else {
                    book.required.iter().copied().sum()
                }
            }
            _ => Money::ZERO,
        }
    }

    /// Each participant's position and marginal-value schedule for today's market: banks
    /// from the regime's tiers and their requirement, non-banks from their outside option.
    fn build_participants(&mut self, bd: &BusinessDay, last_night: bool) {
        let n = self.banks.len();
        let m = self.non_banks.len();
        let behaviour = &self.params.behaviour;
        let cost = behaviour.balance_sheet_cost_bp;
        let below = self.regime.lending_rate_bp + behaviour.stigma_bp;
        let requirement_value = self.requirement_value(last_night, below);
        self.schedules.resize_with(n + m, MarginalValue::default);
        self.participants.clear();
        let mut lowest = below;
        for (i, b) in self.banks.iter().enumerate() {
            let sd = b.late_shock_sd;
            self.participants.push(Participant {
                position: b.reserves - self.queued_out[i] + self.queued_in[i],
                perceived_sd: sd * behaviour.perceived_shock_scale,
                buffer: sd * behaviour.precautionary_buffer_sd,
                // The cost is quoted per 1% of the bank's size borrowed.
                borrowing_cost_per_unit: cost / (0.01 * b.size.max(1.0)),
                schedule: i as u32,
            });
            let need = match (&self.requirements, requirement_value) {
                (Some(book), Some(_)) => book.need_tonight(i, bd.overnight_days).as_f64(),
                _ => 0.0,
            };
            let mv = &mut self.schedules[i];
            mv.below = below;
            mv.steps.clear();
            let mut prev = below;
            if let (Some(v), true) = (requirement_value, need > 0.0) {
                prev = v.min(prev);
                mv.steps.push((0.0, prev));
            }
            self.tiers[i].push_steps(&mut mv.steps, need, prev);
            lowest = lowest.min(mv.lowest());
        }
        if let Some(terms) = &self.non_bank_terms {
            let idle = terms.idle_rate_bp;
            // Below every other value: at such rates non-banks simply keep their cash.
            let keep_all = lowest.min(idle) - 100.0;
            for j in 0..m {
                let cash = self.non_banks.cash[j];
                self.participants.push(Participant {
                    position: cash,
                    perceived_sd: 0.0,
                    buffer: 0.0,
                    borrowing_cost_per_unit: 0.0,
                    schedule: (n + j) as u32,
                });
                let mv = &mut self.schedules[n + j];
                mv.below = below;
                mv.steps.clear();
                match &terms.reverse_repo {
                    Some(rrp) if rrp.rate_bp > idle && rrp.cap_per_lender > Money::ZERO => {
                        let cap = rrp.cap_per_lender.min(cash);
                        mv.steps.push((0.0, rrp.rate_bp.min(below)));
                        if cap < cash {
                            mv.steps.push((cap.as_f64(), idle.min(below)));
                        }
                    }
                    _ => mv.steps.push((0.0, idle.min(below))),
                }
                mv.steps.push((cash.as_f64(), keep_all));
            }
        }
    }

    /// Marginal value of a unit that counts toward the requirement tonight, or `None`
    /// without an enforced requirement. On the last night of the window it avoids the
    /// penalty (or a lending-facility loan, whichever is cheaper); on earlier nights of an
    /// averaging period it saves a unit on the last night, so it is worth the rate banks
    /// expect then (the martingale property of averaging).
    fn requirement_value(&self, last_night: bool, below: f64) -> Option<f64> {
        let book = self.requirements.as_ref().filter(|b| b.params.enforced)?;
        let final_value =
            (book.params.remuneration_rate_bp + book.params.penalty_rate_bp).min(below);
        if last_night {
            return Some(final_value);
        }
        // Banks expect the last night's market to clear where a representative bank,
        // holding its requirement plus its share of the central bank's excess target, is
        // content: the Poole rate of the final-night schedule at that position.
        let n = self.banks.len().max(1) as f64;
        let first_tier = self.tiers.first().and_then(|t| t.tiers().first());
        let excess_value = first_tier.map_or(self.regime.deposit_rate_bp, |t| t.rate_bp)
            - self.params.behaviour.balance_sheet_cost_bp;
        let mean_required = book.required.iter().map(|m| m.as_f64()).sum::<f64>() / n;
        let mean_sd = self.banks.iter().map(|b| b.late_shock_sd).sum::<f64>() / n
            * self.params.behaviour.perceived_shock_scale;
        let representative = MarginalValue {
            below,
            steps: vec![
                (0.0, final_value),
                (mean_required, excess_value.min(final_value)),
            ],
        };
        let share = self.regime.reserve_target.as_f64() / n;
        let expected = representative.expected(mean_required + share, mean_sd);
        Some(expected.clamp(excess_value.min(final_value), final_value))
    }

    /// Settles today's loans (a lender index at or above the bank count is a non-bank).
    /// Returns (volume, Σ amount × rate, volume lent by non-banks).
    fn settle_loans(
        &mut self,
        today: u32,
        options: RecordOptions,
        out: &mut RunRecords,
    ) -> (Money, f64, Money) {
        let n = self.banks.len();
        let mut volume = Money::ZERO;
        let mut weighted_rate = 0.0;
        let mut nonbank = Money::ZERO;
        for loan in &self.loans_today {
            let (l, b) = (loan.lender as usize, loan.borrower as usize);
            if l < n {
                self.banks[l].reserves -= loan.amount;
                self.banks[l].interbank_lent += loan.amount;
            } else {
                self.non_banks.cash[l - n] -= loan.amount;
                self.non_banks.lent[l - n] += loan.amount;
                self.central_bank.non_bank_accounts -= loan.amount;
                self.central_bank.reserves += loan.amount;
                self.reserve_flows += loan.amount;
                nonbank += loan.amount;
            }
            self.banks[b].reserves += loan.amount;
            self.banks[b].interbank_borrowed += loan.amount;
            volume += loan.amount;
            weighted_rate += loan.amount.as_f64() * loan.rate_bp;
            if options.trades {
                out.trades.push(TradeRecord {
                    day: today,
                    lender: loan.lender,
                    borrower: loan.borrower,
                    amount: loan.amount,
                    rate_bp: loan.rate_bp,
                    round: loan.round,
                });
            }
        }
        (volume, weighted_rate, nonbank)
    }

    /// Lends every overdrawn bank its shortfall overnight. Returns the total lent.
    fn lending_facility(&mut self) -> Money {
        let mut total = Money::ZERO;
        for bank in &mut self.banks {
            if bank.reserves < Money::ZERO {
                let shortfall = -bank.reserves;
                bank.reserves += shortfall;
                bank.lending_facility += shortfall;
                self.central_bank.lending_facility += shortfall;
                self.central_bank.reserves += shortfall;
                self.reserve_flows += shortfall;
                total += shortfall;
            }
        }
        total
    }

    /// Counts balances toward requirements, pays the tiers on the excess tonight, and
    /// settles requirement remuneration and penalties on the window's last night. Fills
    /// `excess_balances` and returns their total.
    fn remunerate(&mut self, bd: &BusinessDay, last_night: bool, year_fraction: f64) -> Money {
        self.excess_balances.clear();
        let basis = self.params.calendar.day_count.basis_days();
        let mut total = Money::ZERO;
        for (i, bank) in self.banks.iter_mut().enumerate() {
            let balance = bank.reserves.positive_part();
            let counted = match &mut self.requirements {
                Some(book) if book.params.enforced => book.count(i, balance, bd.overnight_days),
                _ => Money::ZERO,
            };
            let above = balance - counted;
            self.excess_balances.push(above);
            total += above;
            let earned = if above > Money::ZERO {
                self.tiers[i].interest(above, year_fraction)
            } else {
                Money::ZERO
            };
            if last_night
                && let Some(book) = self.requirements.as_ref().filter(|b| b.params.enforced)
            {
                let (remuneration, penalty) = book.settle(i, basis);
                self.requirement_settlement[i] = remuneration + penalty;
            }
            if earned != Money::ZERO {
                bank.income(earned);
                self.central_bank.reserves += earned;
                self.central_bank.capital -= earned;
                self.reserve_flows += earned;
            }
        }
        total
    }

    /// Non-banks place what they can at the reverse repo facility and earn their idle rate
    /// on the rest. Returns the amount placed.
    fn non_banks_evening(&mut self, year_fraction: f64) -> Money {
        let Some(terms) = &self.non_bank_terms else {
            return Money::ZERO;
        };
        let cb = &mut self.central_bank;
        let mut placed_total = Money::ZERO;
        for j in 0..self.non_banks.len() {
            if let Some(rrp) = terms
                .reverse_repo
                .as_ref()
                .filter(|r| r.rate_bp > terms.idle_rate_bp)
            {
                let placed = self.non_banks.cash[j]
                    .min(rrp.cap_per_lender)
                    .positive_part();
                self.non_banks.cash[j] -= placed;
                self.non_banks.reverse_repo[j] += placed;
                cb.non_bank_accounts -= placed;
                cb.reverse_repos += placed;
                placed_total += placed;
                self.open_reverse_repo_rate_bp = rrp.rate_bp;
            }
            let earned = interest(self.non_banks.cash[j], terms.idle_rate_bp, year_fraction);
            self.non_banks.cash[j] += earned;
            cb.non_bank_accounts += earned;
            cb.capital -= earned;
        }
        placed_total
    }

    /// Dispersion and concentration of today's loans (in `self.open_loans` once the market
    /// has closed): volume-weighted percentiles, active banks, the five
    /// largest lenders' share. Also fills each bank's lending and borrowing totals.
    fn market_statistics(&mut self, volume: Money) -> MarketStats {
        let loans = &self.open_loans;
        self.lent_today.fill((Money::ZERO, 0.0));
        self.borrowed_today.fill((Money::ZERO, 0.0));
        self.rates_by_volume.clear();
        for loan in loans {
            let weighted = loan.amount.as_f64() * loan.rate_bp;
            let l = &mut self.lent_today[loan.lender as usize];
            l.0 += loan.amount;
            l.1 += weighted;
            let b = &mut self.borrowed_today[loan.borrower as usize];
            b.0 += loan.amount;
            b.1 += weighted;
            self.rates_by_volume.push((loan.rate_bp, loan.amount));
        }
        let active = |v: &[(Money, f64)]| v.iter().filter(|x| x.0 > Money::ZERO).count() as u32;
        let mut stats = MarketStats {
            percentiles: None,
            active_lenders: active(&self.lent_today),
            active_borrowers: active(&self.borrowed_today),
            top5_lender_share: None,
        };
        if volume <= Money::ZERO {
            return stats;
        }
        self.rates_by_volume.sort_by(|a, b| a.0.total_cmp(&b.0));
        stats.percentiles = Some(volume_weighted_percentiles(
            &self.rates_by_volume,
            volume,
            [0.01, 0.25, 0.75, 0.99],
        ));
        let mut top = [Money::ZERO; 5];
        for &(lent, _) in &self.lent_today {
            if lent > top[4] {
                top[4] = lent;
                top.sort_by(|a, b| b.cmp(a));
            }
        }
        let top_total: Money = top.iter().copied().sum();
        stats.top5_lender_share = Some(top_total.as_f64() / volume.as_f64());
        stats
    }

    /// Repays last night's interbank and lending-facility loans, with interest for the
    /// nights since, and the central bank's operations maturing today.
    fn settle_maturities(&mut self, today: u32) {
        let yf = self.open_year_fraction;
        let n = self.banks.len();
        for loan in self.open_loans.drain(..) {
            let owed = interest(loan.amount, loan.rate_bp, yf);
            let (lender, borrower) = (loan.lender as usize, loan.borrower as usize);
            self.banks[borrower].reserves -= loan.amount;
            self.banks[borrower].interbank_borrowed -= loan.amount;
            self.banks[borrower].income(-owed);
            if lender < n {
                self.banks[lender].reserves += loan.amount;
                self.banks[lender].interbank_lent -= loan.amount;
                self.banks[lender].income(owed);
            } else {
                // Repaid into the non-bank's account: reserves leave the banking system.
                let j = lender - n;
                self.non_banks.lent[j] -= loan.amount;
                self.non_banks.cash[j] += loan.amount + owed;
                self.central_bank.reserves -= loan.amount + owed;
                self.central_bank.non_bank_accounts += loan.amount + owed;
                self.reserve_flows -= loan.amount + owed;
            }
        }
        for (bank, due) in self
            .banks
            .iter_mut()
            .zip(self.requirement_settlement.iter_mut())
        {
            let due = std::mem::take(due);
            if due != Money::ZERO {
                bank.income(due);
                self.central_bank.reserves += due;
                self.central_bank.capital -= due;
                self.reserve_flows += due;
            }
        }
        let rrp_rate = self.open_reverse_repo_rate_bp;
        for j in 0..self.non_banks.len() {
            let placed = std::mem::take(&mut self.non_banks.reverse_repo[j]);
            if placed > Money::ZERO {
                let earned = interest(placed, rrp_rate, yf);
                self.non_banks.cash[j] += placed + earned;
                self.central_bank.reverse_repos -= placed;
                self.central_bank.non_bank_accounts += placed + earned;
                self.central_bank.capital -= earned;
            }
        }
        let lending_rate = self.open_lending_rate_bp;
        let cb = &mut self.central_bank;
        let mut flows = Money::ZERO;
        for bank in &mut self.banks {
            if bank.lending_facility > Money::ZERO {
                let principal = std::mem::take(&mut bank.lending_facility);
                cb.lending_facility -= principal;
                flows -= repay_central_bank(bank, principal, lending_rate, yf, &mut cb.capital);
            }
        }
        cb.reserves += flows;
        self.reserve_flows += flows;
        self.settle_operations(today);
    }

    /// Customers move a fraction of each bank's deposit gap back toward its long-run share:
    /// transfers between banks (they sum to zero), so reserves are only redistributed.
    fn revert_deposits(&mut self) {
        let kappa = self.params.payments.deposit_reversion;
        if kappa == 0.0 || self.banks.len() < 2 {
            return;
        }
        let total: f64 = self.banks.iter().map(|b| b.deposits.as_f64()).sum();
        let mut residual = Money::ZERO;
        for (bank, share) in self.banks.iter_mut().zip(&self.deposit_shares) {
            let gap = bank.deposits.as_f64() - share * total;
            let flow = Money::from_f64_rounded(-kappa * gap);
            bank.customer_flow(flow);
            residual += flow;
        }
        // The gaps sum to zero, so only rounding is left over.
        self.banks[0].customer_flow(-residual);
    }

    /// The daily fine-tuning operation: an overnight repo or term deposit sized from the
    /// central bank's forecast of today's autonomous factors so that forecast reserves hit
    /// `target`, allotted pro rata to size. Returns the amount (positive provides).
    fn fine_tune(&mut self, bd: &BusinessDay, target: Money, forecast: Money) -> Money {
        let ft = &self.regime.fine_tuning;
        if !ft.enabled {
            return Money::ZERO;
        }
        let amount = target - (self.central_bank.reserves + forecast);
        if amount.0.abs() < ft.min_amount.0.max(1) {
            return Money::ZERO;
        }
        let policy = self.regime.policy_rate_bp;
        let (direction, rate, name) = if amount > Money::ZERO {
            (
                Direction::Repo,
                policy + ft.rate_offset_bp,
                "fine_tuning_repo",
            )
        } else {
            (
                Direction::TermDeposit,
                policy - ft.rate_offset_bp,
                "fine_tuning_deposit",
            )
        };
        split_pro_rata(amount.abs(), &self.size_weights, &mut self.split);
        let positions = self
            .split
            .iter()
            .enumerate()
            .filter(|(_, a)| **a > Money::ZERO)
            .map(|(i, &amount)| Position {
                bank: i as u32,
                amount,
                rate_bp: rate,
            })
            .collect();
        let year_fraction = self
            .params
            .calendar
            .day_count
            .year_fraction(bd.overnight_days);
        let result = AuctionResult {
            positions,
            marginal_rate_bp: None,
        };
        self.open_operation(bd, name, direction, result, bd.index + 1, year_fraction);
        amount
    }

    /// Currency withdrawals and government receipts debit customers' deposits and their
    /// banks' reserves, pro rata to bank size.
    fn apply_autonomous(&mut self, d_currency: Money, d_government: Money) {
        let effect = -(d_currency + d_government);
        split_pro_rata(effect, &self.size_weights, &mut self.split);
        for (bank, share) in self.banks.iter_mut().zip(self.split.iter()) {
            bank.customer_flow(*share);
        }
        self.central_bank.currency += d_currency;
        self.central_bank.government += d_government;
        self.central_bank.reserves += effect;
        self.reserve_flows += effect;
    }

    /// Customer payments over the settlement periods. Returns (peak aggregate overdraft,
    /// value of payments that had to queue).
    fn run_payments<R: Rng + ?Sized>(&mut self, rng: &mut R, bd: &BusinessDay) -> (Money, Money) {
        let periods = self.params.payments.periods;
        let n = self.banks.len();
        let per_period = (self.params.payments.per_bank_per_period * n as f64).round() as usize;
        let fee_bp = self.params.intraday.overdraft_fee_bp;
        let fee_per_period = fee_bp
            * 1e-4
            * (bd.overnight_days as f64 / self.params.calendar.day_count.basis_days())
            / periods as f64;
        let mut peak = Money::ZERO;
        let mut queued = Money::ZERO;
        let (Some(choice), Some(amounts)) = (self.payee_choice.take(), self.payment_amount) else {
            return (self.aggregate_overdraft(), Money::ZERO);
        };
        for _ in 0..periods {
            for _ in 0..per_period {
                // Payer and payee both drawn in proportion to size: the flow from i to j
                // equals the flow from j to i in expectation, so every bank's expected net
                // payment is zero and gross flows scale with size.
                let payer = choice.sample(rng) as u32;
                let mut payee = choice.sample(rng) as u32;
                while payee == payer {
                    payee = choice.sample(rng) as u32;
                }
                let amount = Money::from_f64_rounded(amounts.sample(rng)).max(Money(1));
                queued += self.submit_payment(payer, payee, amount);
            }
            peak = peak.max(self.aggregate_overdraft());
            if fee_per_period > 0.0 {
                for (acc, bank) in self.overdraft_fee_accrued.iter_mut().zip(&self.banks) {
                    *acc += bank.reserves.negative_part().as_f64() * fee_per_period;
                }
            }
        }
        self.payee_choice = Some(choice);
        (peak, queued)
    }

    fn aggregate_overdraft(&self) -> Money {
        self.banks.iter().map(|b| b.reserves.negative_part()).sum()
    }

    /// Settles a payment if the payer's queue is empty and its overdraft limit allows,
    /// otherwise queues it. Returns the amount queued (0 if settled).
    fn submit_payment(&mut self, payer: u32, payee: u32, amount: Money) -> Money {
        let p = payer as usize;
        if self.queues[p].is_empty() && self.banks[p].reserves - amount >= -self.banks[p].collateral
        {
            self.transfer(payer, payee, amount);
            self.release_queue(payee);
            Money::ZERO
        } else {
            self.queues[p].push_back((payee, amount));
            self.queued_out[p] += amount;
            self.queued_in[payee as usize] += amount;
            amount
        }
    }

    #[inline]
    fn transfer(&mut self, from: u32, to: u32, amount: Money) {
        self.banks[from as usize].customer_flow(-amount);
        self.banks[to as usize].customer_flow(amount);
    }

    /// Releases queued payments, first in first out, from banks whose liquidity rose,
    /// following the chain of payees that each release funds.
    fn release_queue(&mut self, start: u32) {
        self.work.clear();
        self.work.push(start);
        while let Some(b) = self.work.pop() {
            let i = b as usize;
            while let Some(&(payee, amount)) = self.queues[i].front() {
                if self.banks[i].reserves - amount < -self.banks[i].collateral {
                    break;
                }
                self.queues[i].pop_front();
                self.queued_out[i] -= amount;
                self.queued_in[payee as usize] -= amount;
                self.transfer(b, payee, amount);
                self.work.push(payee);
            }
        }
    }

    /// End-of-day settlement of everything still queued, beyond overdraft limits.
    fn settle_all_queued(&mut self) {
        for i in 0..self.queues.len() {
            while let Some((payee, amount)) = self.queues[i].pop_front() {
                self.queued_out[i] -= amount;
                self.queued_in[payee as usize] -= amount;
                self.transfer(i as u32, payee, amount);
            }
        }
    }

    /// Independent normal shocks netted into transfers between banks (each bank absorbs its
    /// variance share of the sum), rounded to whole units with the rounding residual on the
    /// bank with the largest shock variance.
    /// Late payments that arrive during an OTC session: `late_payment_share` of each bank's
    /// late-shock variance, in K - 1 equal parts, each netted into transfers like the late
    /// shock. Draws nothing without interleaving.
    fn draw_in_session_payments<R: Rng + ?Sized>(&mut self, rng: &mut R) {
        self.in_session.clear();
        let share = self.late_payment_share;
        let MarketMechanism::Otc(otc) = &self.params.market.mechanism else {
            return;
        };
        if share <= 0.0 {
            return;
        }
        let gaps = otc.rounds - 1;
        let scale = (share / gaps as f64).sqrt();
        let mut part = std::mem::take(&mut self.split);
        for _ in 0..gaps {
            if !netted_shocks(&self.banks, scale, rng, &mut self.late_draws, &mut part) {
                break;
            }
            self.in_session.extend_from_slice(&part);
        }
        self.split = part;
    }

    fn late_shock<R: Rng + ?Sized>(&mut self, rng: &mut R) {
        let scale = (1.0 - self.late_payment_share).sqrt();
        let mut shocks = std::mem::take(&mut self.split);
        if netted_shocks(&self.banks, scale, rng, &mut self.late_draws, &mut shocks) {
            for (bank, shock) in self.banks.iter_mut().zip(&shocks) {
                bank.customer_flow(*shock);
            }
        }
        self.split = shocks;
    }

    fn charge_overdraft_fees(&mut self) {
        for (bank, acc) in self
            .banks
            .iter_mut()
            .zip(self.overdraft_fee_accrued.iter_mut())
        {
            if *acc > 0.0 {
                let fee = Money::from_f64_rounded(*acc);
                bank.income(-fee);
                self.central_bank.capital += fee;
                self.central_bank.reserves -= fee;
                self.reserve_flows -= fee;
                *acc = 0.0;
            }
        }
    }

    /// Checks every accounting identity of MODEL.md section 7. Cheap enough (O(banks)) to
    /// run every day; the runner does so behind `--check`.
    pub fn check_invariants(&mut self) -> Result<(), InvariantViolation> {
        let fail = |what: String| {
            Err(InvariantViolation {
                day: self.day,
                what,
            })
        };
        for (i, b) in self.banks.iter().enumerate() {
            if b.assets() != b.liabilities() + b.equity {
                return fail(format!(
                    "bank {i}: assets {} != liabilities {} + equity {}",
                    b.assets(),
                    b.liabilities(),
                    b.equity
                ));
            }
        }
        let total: Money = self.banks.iter().map(|b| b.reserves).sum();
        let cb = &self.central_bank;
        if total != cb.reserves {
            return fail(format!(
                "banks hold {total} of reserves, the central bank owes {}",
                cb.reserves
            ));
        }
        if cb.assets() != cb.liabilities_and_capital() {
            return fail(format!(
                "central bank assets {} != liabilities and capital {}",
                cb.assets(),
                cb.liabilities_and_capital()
            ));
        }
        let lent: Money = self.banks.iter().map(|b| b.interbank_lent).sum::<Money>()
            + self.non_banks.lent.iter().copied().sum();
        let borrowed: Money = self.banks.iter().map(|b| b.interbank_borrowed).sum();
        if lent != borrowed {
            return fail(format!(
                "interbank claims {lent} != interbank debts {borrowed}"
            ));
        }
        let lf: Money = self.banks.iter().map(|b| b.lending_facility).sum();
        let repo: Money = self.banks.iter().map(|b| b.cb_repo).sum();
        let term: Money = self.banks.iter().map(|b| b.cb_term_deposit).sum();
        if lf != cb.lending_facility || repo != cb.repo_lending || term != cb.term_deposits {
            return fail(format!(
                "central-bank claims disagree: facility {lf}/{}, repo {repo}/{}, term {term}/{}",
                cb.lending_facility, cb.repo_lending, cb.term_deposits
            ));
        }
        let nb_cash: Money = self.non_banks.cash.iter().copied().sum();
        let nb_rrp: Money = self.non_banks.reverse_repo.iter().copied().sum();
        if nb_cash != cb.non_bank_accounts || nb_rrp != cb.reverse_repos {
            return fail(format!(
                "non-bank claims disagree: accounts {nb_cash}/{}, reverse repos {nb_rrp}/{}",
                cb.non_bank_accounts, cb.reverse_repos
            ));
        }
        let change = total - self.reserves_at_last_check;
        if change != self.reserve_flows {
            return fail(format!(
                "reserves changed by {change} but operations and autonomous factors moved {}",
                self.reserve_flows
            ));
        }
        if let Some(what) = self.operation_error.take() {
            return fail(what);
        }
        let classes = self.securities.classes();
        for (i, b) in self.banks.iter().enumerate() {
            let by_class: Money = self.securities.bank_holdings[i * classes..(i + 1) * classes]
                .iter()
                .copied()
                .sum();
            if by_class != b.securities || by_class < Money::ZERO {
                return fail(format!(
                    "bank {i}: securities {} but holdings by class add up to {by_class}",
                    b.securities
                ));
            }
        }
        let ladders: Money = (0..classes)
            .map(|c| self.securities.central_bank_total(c))
            .sum();
        if ladders != cb.securities || !self.securities.ladders_consistent() {
            return fail(format!(
                "central bank holds {} of securities, its maturity ladders {ladders}",
                cb.securities
            ));
        }
        if self
            .securities
            .investor_holdings
            .iter()
            .any(|h| *h < Money::ZERO)
        {
            return fail("an investor holding went negative".to_owned());
        }
        self.reserves_at_last_check = total;
        self.reserve_flows = Money::ZERO;
        // From now on every operation's effect on reserves is verified as it happens.
        self.checking = true;
        Ok(())
    }
}
