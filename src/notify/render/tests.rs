use chrono::{DateTime, NaiveDate, Utc};
use expect_test::{Expect, expect};
use serde_json::Value;

use super::layout::*;
use super::*;
use crate::domain::change::ChangeKind;
use crate::domain::obligation::{Note, Obligation, keys};
use crate::plan::Stage;

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).expect("test dates exist")
}

/// An alert as `plan` makes them; the fields that matter are arguments.
pub(crate) fn alert(
    kind: ObligationKind,
    key: &str,
    due: NaiveDate,
    offset: i64,
    severity: Severity,
    days_left: i64,
) -> Alert {
    let number = match kind {
        ObligationKind::NumberActivation => Some("962345".parse().expect("valid number")),
        ObligationKind::NumberOutlivesLicence => Some("961234".parse().expect("valid number")),
        _ => None,
    };
    let obligation = Obligation {
        key: key.parse().expect("a valid key"),
        kind,
        licence: "京B2-20201234".parse().expect("valid licence"),
        company: "北京示例呼叫中心有限公司".to_owned(),
        authority: "北京市通信管理局".to_owned(),
        number,
        year: (kind == ObligationKind::AnnualReport).then_some(2025),
        change: (kind == ObligationKind::ChangeFiling).then_some(ChangeKind::Name),
        opens: due - chrono::Days::new(30),
        due,
        ends: None,
        snoozed_until: None,
        note: None,
    };
    let nominal = due + chrono::Duration::days(offset);
    Alert {
        state: if days_left < 0 {
            State::Overdue
        } else {
            State::Open
        },
        days_left,
        obligation,
        stage: Stage {
            offset,
            nominal,
            send_on: nominal,
            skipped: Vec::new(),
            severity,
        },
    }
}

/// One alert of every kind and state worth a different text.
pub(crate) fn every_kind() -> Vec<Alert> {
    use ObligationKind::*;
    let early_renewal = alert(
        Renewal,
        "renewal/京B2-20201234/2026-11-30",
        d(2026, 9, 1),
        -90,
        Severity::Info,
        92,
    );
    let mut expired = alert(
        Renewal,
        "renewal/京B2-20201234/2026-02-27",
        d(2025, 11, 29),
        90,
        Severity::Critical,
        -184,
    );
    expired.state = State::Expired;
    expired.obligation.ends = Some(d(2026, 2, 27));
    let mut report = alert(
        AnnualReport,
        "annual_report/京B2-20201234/2025",
        d(2026, 3, 31),
        63,
        Severity::Critical,
        -62,
    );
    report.obligation.opens = d(2026, 1, 1);
    report.obligation.note = Some(Note::NotCarriedOut { years: 2 });
    vec![
        early_renewal,
        alert(
            ChangeFiling,
            "change_filing/京B2-20201234/17",
            d(2026, 6, 19),
            -14,
            Severity::Warning,
            18,
        ),
        expired,
        alert(
            NumberActivation,
            "number_activation/京B2-20201234/95123/2026-01-10",
            d(2026, 7, 10),
            -30,
            Severity::Warning,
            39,
        ),
        report,
        alert(
            NumberOutlivesLicence,
            "number_outlives_licence/京B2-20201234/961234/2026-05-30",
            d(2026, 5, 30),
            2,
            Severity::Critical,
            -2,
        ),
        alert(
            Renewal,
            "renewal/京B2-20201234/2026-09-08",
            d(2026, 6, 10),
            0,
            Severity::Critical,
            0,
        ),
    ]
}

fn two() -> Vec<Alert> {
    let mut alerts = every_kind();
    vec![alerts.remove(5), alerts.remove(0)]
}

fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(1_780_000_000, 0).expect("in range")
}

fn check_text(text: &str, expect: Expect) {
    expect.assert_eq(text);
}

fn check_json(value: &Value, expect: Expect) {
    expect.assert_eq(&serde_json::to_string_pretty(value).expect("JSON values serialise"));
}

#[test]
fn every_kind_in_chinese() {
    let alerts = every_kind();
    let digest = digest(&alerts, Lang::Zh);
    check_text(
        &plain(&digest, &digest.whole()),
        expect![[r#"
            licwatch 合规提醒：共 7 项待办，其中 4 项紧急

            1. 【紧急】许可证延续（续期）申请 · 京B2-20201234 · 北京示例呼叫中心有限公司
               截止日期：2025-11-29（已逾期 184 天）
               状态：许可证已于 2026-02-27 到期且未延续
               原发证机关：北京市通信管理局
               风险：许可证已过有效期，不能再申请延续：须停止经营电信业务，并登记许可证终止；如需继续经营，须重新申请许可证。停止前继续经营即属未取得许可证经营电信业务，由电信管理机构责令改正，没收违法所得，处违法所得3倍以上5倍以下罚款；没有违法所得或者违法所得不足5万元的，处10万元以上100万元以下罚款；情节严重的，责令停业整顿。
               依据：《中华人民共和国电信条例》（2016年修订）第七条第三款、第六十九条
               停止经营后登记：licwatch licence end 京B2-20201234 --on YYYY-MM-DD --reason 到期未延续

            2. 【紧急】2025 年度年报 · 京B2-20201234 · 北京示例呼叫中心有限公司
               报送期间：2026-01-01 至 2026-03-31
               截止日期：2026-03-31（已逾期 62 天）
               报送机关：北京市通信管理局
               逾期后果：未按期报送年报的，电信管理机构应当要求限期报告；仍未按其要求的期限报告的，列入电信业务经营不良名单。
               依据：《电信业务经营许可管理办法》（工业和信息化部令第42号）第三十八条
               注意：已连续 2 年报告「未开展业务」；按实践，许可证有被清理的风险。
               办结后登记：licwatch report file 京B2-20201234 --year 2025 --on YYYY-MM-DD

            3. 【紧急】码号 961234 在许可证失效后仍在使用 · 京B2-20201234 · 北京示例呼叫中心有限公司
               许可证失效日：2026-05-30（已失效 2 天）
               报送机关：北京市通信管理局
               风险：码号随许可证使用：许可证失效后继续使用码号，即属未取得许可证经营电信业务并擅自使用电信资源，由电信管理机构责令改正，没收违法所得，处违法所得3倍以上5倍以下罚款；没有违法所得或者违法所得不足5万元的，处10万元以上100万元以下罚款；情节严重的，责令停业整顿。
               依据：《中华人民共和国电信条例》（2016年修订）第七条第三款、第六十九条、第六十九条第（三）项
               办结后登记：licwatch number release 961234 --on YYYY-MM-DD

            4. 【紧急】许可证延续（续期）申请 · 京B2-20201234 · 北京示例呼叫中心有限公司
               截止日期：2026-06-10（今天截止）
               原发证机关：北京市通信管理局
               逾期后果：许可证有效期届满而未获延续（续期）的，继续经营即属未取得许可证经营电信业务：由电信管理机构责令改正，没收违法所得，处违法所得3倍以上5倍以下罚款；没有违法所得或者违法所得不足5万元的，处10万元以上100万元以下罚款；情节严重的，责令停业整顿。
               依据：《中华人民共和国电信条例》（2016年修订）第七条第三款、第六十九条
               办结后登记：licwatch renewal submit 京B2-20201234 --on YYYY-MM-DD

            5. 【注意】变更备案（公司名称） · 京B2-20201234 · 北京示例呼叫中心有限公司
               变更日期：2026-05-20
               截止日期：2026-06-19（还剩 18 天）
               报送机关：北京市通信管理局
               逾期后果：按实践，逾期未办理变更手续的，由电信管理机构依法处理；受到行政处罚的，列入电信业务经营不良名单。未见任何条文规定许可证因此失效。
               依据：按实践，无条文依据
               办结后登记：licwatch change file 17 --on YYYY-MM-DD

            6. 【注意】码号 962345 待启用 · 京B2-20201234 · 北京示例呼叫中心有限公司
               分配日期：2026-06-10
               截止日期：2026-07-10（还剩 39 天）
               报送机关：北京市通信管理局
               逾期后果：按实践，分配后约六个月仍未启用的码号会被收回。启用前须报备接入的运营商、用途及呼入/呼出方式（默认仅呼入）。
               依据：按实践，无条文依据
               办结后登记：licwatch number activate 962345 --on YYYY-MM-DD --carrier 中国电信 --direction inbound

            7. 【提示】许可证延续（续期）申请 · 京B2-20201234 · 北京示例呼叫中心有限公司
               截止日期：2026-09-01（还剩 92 天）
               原发证机关：北京市通信管理局
               逾期后果：许可证有效期届满而未获延续（续期）的，继续经营即属未取得许可证经营电信业务：由电信管理机构责令改正，没收违法所得，处违法所得3倍以上5倍以下罚款；没有违法所得或者违法所得不足5万元的，处10万元以上100万元以下罚款；情节严重的，责令停业整顿。
               依据：《中华人民共和国电信条例》（2016年修订）第七条第三款、第六十九条
               准备材料：最新营业执照、财务报告、坐席照片、话务量数据、网络安全评估报告；按实践，审批约需 60 个工作日，材料退回补正另需约 30 个工作日，请尽早准备。
               办结后登记：licwatch renewal submit 京B2-20201234 --on YYYY-MM-DD

            由 licwatch 发送。事项办结后请执行对应命令登记，提醒即停止。
        "#]],
    );
}

#[test]
fn every_kind_in_english() {
    let alerts = every_kind();
    let digest = digest(&alerts, Lang::En);
    check_text(
        &plain(&digest, &digest.whole()),
        expect![[r#"
            licwatch compliance reminder: 7 items due, 4 urgent

            1. [URGENT] Licence renewal application · 京B2-20201234 · 北京示例呼叫中心有限公司
               Due: 2025-11-29 (184 days overdue)
               State: the licence expired on 2026-02-27 unrenewed
               Issuing authority: 北京市通信管理局
               Risk: The licence has expired and can no longer be renewed: stop the telecom business and record the licence as ended; to carry on, apply for a new licence. Operating meanwhile is operating without a licence: the authority orders it corrected, confiscates the illegal income and fines 3 to 5 times that income, or RMB 100,000 to 1,000,000 when there is none or it is below RMB 50,000; in serious cases the business is suspended for rectification.
               Basis: Telecommunications Regulations of the PRC (2016 revision), Art. 7(3), Art. 69
               Once stopped, record it: licwatch licence end 京B2-20201234 --on YYYY-MM-DD --reason 到期未延续

            2. [URGENT] Annual report for 2025 · 京B2-20201234 · 北京示例呼叫中心有限公司
               Filing window: 2026-01-01 to 2026-03-31
               Due: 2026-03-31 (62 days overdue)
               File with: 北京市通信管理局
               If missed: When the annual report is missing, the authority sets a further deadline; a company that misses that one too is put on the list of poorly-performing operators (不良名单).
               Basis: Measures on Telecom Business Licensing (MIIT Order No. 42), Art. 38
               Note: 2 annual reports in a row said business not carried out (未开展业务); in practice, the licence is at risk of being cleared out.
               When done, record it: licwatch report file 京B2-20201234 --year 2025 --on YYYY-MM-DD

            3. [URGENT] Number 961234 still in use after its licence ended · 京B2-20201234 · 北京示例呼叫中心有限公司
               Licence last valid on: 2026-05-30 (ended 2 days ago)
               File with: 北京市通信管理局
               Risk: A number is used under its licence: using it after the licence ended is operating without a licence and using a telecom resource without leave; the authority orders it corrected, confiscates the illegal income and fines 3 to 5 times that income, or RMB 100,000 to 1,000,000 when there is none or it is below RMB 50,000; in serious cases the business is suspended for rectification.
               Basis: Telecommunications Regulations of the PRC (2016 revision), Art. 7(3), Art. 69, Art. 69(3)
               When done, record it: licwatch number release 961234 --on YYYY-MM-DD

            4. [URGENT] Licence renewal application · 京B2-20201234 · 北京示例呼叫中心有限公司
               Due: 2026-06-10 (due today)
               Issuing authority: 北京市通信管理局
               If missed: Operating after the licence expires without a renewal (延续) is operating without a licence: the authority orders it corrected, confiscates the illegal income and fines 3 to 5 times that income, or RMB 100,000 to 1,000,000 when there is none or it is below RMB 50,000; in serious cases the business is suspended for rectification.
               Basis: Telecommunications Regulations of the PRC (2016 revision), Art. 7(3), Art. 69
               When done, record it: licwatch renewal submit 京B2-20201234 --on YYYY-MM-DD

            5. [Warning] Change filing (company name) · 京B2-20201234 · 北京示例呼叫中心有限公司
               Changed on: 2026-05-20
               Due: 2026-06-19 (18 days left)
               File with: 北京市通信管理局
               If missed: In practice, the authority deals with an unfiled change under the law, and a company penalised for it is put on the list of poorly-performing operators (不良名单). No article says the licence becomes invalid.
               Basis: in practice; no article says so
               When done, record it: licwatch change file 17 --on YYYY-MM-DD

            6. [Warning] Number 962345 to be put into service · 京B2-20201234 · 北京示例呼叫中心有限公司
               Allocated on: 2026-06-10
               Due: 2026-07-10 (39 days left)
               File with: 北京市通信管理局
               If missed: In practice, a number not put into service within about six months of allocation is taken back. Before opening it, file the carrier, its use and whether it is inbound, outbound or both (default inbound only).
               Basis: in practice; no article says so
               When done, record it: licwatch number activate 962345 --on YYYY-MM-DD --carrier 中国电信 --direction inbound

            7. [Notice] Licence renewal application · 京B2-20201234 · 北京示例呼叫中心有限公司
               Due: 2026-09-01 (92 days left)
               Issuing authority: 北京市通信管理局
               If missed: Operating after the licence expires without a renewal (延续) is operating without a licence: the authority orders it corrected, confiscates the illegal income and fines 3 to 5 times that income, or RMB 100,000 to 1,000,000 when there is none or it is below RMB 50,000; in serious cases the business is suspended for rectification.
               Basis: Telecommunications Regulations of the PRC (2016 revision), Art. 7(3), Art. 69
               Prepare: latest business licence, financial report, photos of the seats, traffic data, network security assessment; in practice review takes about 60 working days (about 30 more if material is returned), so start now.
               When done, record it: licwatch renewal submit 京B2-20201234 --on YYYY-MM-DD

            Sent by licwatch. Run the command of an item once it is done and its reminders stop.
        "#]],
    );
}

#[test]
fn html_part() {
    let alerts = two();
    let digest = digest(&alerts, Lang::Zh);
    check_text(
        &html(&digest, &digest.whole()),
        expect![[r#"
            <!DOCTYPE html>
            <html lang="zh-CN">
            <head><meta charset="utf-8"><title>licwatch 合规提醒：共 2 项待办，其中 1 项紧急</title></head>
            <body>
            <h2>licwatch 合规提醒：共 2 项待办，其中 1 项紧急</h2>
            <ol start="1">
            <li><p><strong>【紧急】码号 961234 在许可证失效后仍在使用 · 京B2-20201234 · 北京示例呼叫中心有限公司</strong></p>
            <ul>
            <li>许可证失效日：2026-05-30（已失效 2 天）</li>
            <li>报送机关：北京市通信管理局</li>
            <li>风险：码号随许可证使用：许可证失效后继续使用码号，即属未取得许可证经营电信业务并擅自使用电信资源，由电信管理机构责令改正，没收违法所得，处违法所得3倍以上5倍以下罚款；没有违法所得或者违法所得不足5万元的，处10万元以上100万元以下罚款；情节严重的，责令停业整顿。</li>
            <li>依据：《中华人民共和国电信条例》（2016年修订）第七条第三款、第六十九条、第六十九条第（三）项</li>
            <li>办结后登记：<code>licwatch number release 961234 --on YYYY-MM-DD</code></li>
            </ul></li>
            <li><p><strong>【提示】许可证延续（续期）申请 · 京B2-20201234 · 北京示例呼叫中心有限公司</strong></p>
            <ul>
            <li>截止日期：2026-09-01（还剩 92 天）</li>
            <li>原发证机关：北京市通信管理局</li>
            <li>逾期后果：许可证有效期届满而未获延续（续期）的，继续经营即属未取得许可证经营电信业务：由电信管理机构责令改正，没收违法所得，处违法所得3倍以上5倍以下罚款；没有违法所得或者违法所得不足5万元的，处10万元以上100万元以下罚款；情节严重的，责令停业整顿。</li>
            <li>依据：《中华人民共和国电信条例》（2016年修订）第七条第三款、第六十九条</li>
            <li>准备材料：最新营业执照、财务报告、坐席照片、话务量数据、网络安全评估报告；按实践，审批约需 60 个工作日，材料退回补正另需约 30 个工作日，请尽早准备。</li>
            <li>办结后登记：<code>licwatch renewal submit 京B2-20201234 --on YYYY-MM-DD</code></li>
            </ul></li>
            </ol>
            <p>由 licwatch 发送。事项办结后请执行对应命令登记，提醒即停止。</p>
            </body>
            </html>
        "#]],
    );
}

#[test]
fn dingtalk_payload() {
    let alerts = two();
    let digest = digest(&alerts, Lang::Zh);
    check_json(
        &dingtalk(&digest, &digest.whole()),
        expect![[r#####"
            {
              "markdown": {
                "text": "#### licwatch 合规提醒：共 2 项待办，其中 1 项紧急\n\n**1. 【紧急】码号 961234 在许可证失效后仍在使用 · 京B2-20201234 · 北京示例呼叫中心有限公司**\n\n- 许可证失效日：2026-05-30（已失效 2 天）\n- 报送机关：北京市通信管理局\n- 风险：码号随许可证使用：许可证失效后继续使用码号，即属未取得许可证经营电信业务并擅自使用电信资源，由电信管理机构责令改正，没收违法所得，处违法所得3倍以上5倍以下罚款；没有违法所得或者违法所得不足5万元的，处10万元以上100万元以下罚款；情节严重的，责令停业整顿。\n- 依据：《中华人民共和国电信条例》（2016年修订）第七条第三款、第六十九条、第六十九条第（三）项\n- 办结后登记：`licwatch number release 961234 --on YYYY-MM-DD`\n\n**2. 【提示】许可证延续（续期）申请 · 京B2-20201234 · 北京示例呼叫中心有限公司**\n\n- 截止日期：2026-09-01（还剩 92 天）\n- 原发证机关：北京市通信管理局\n- 逾期后果：许可证有效期届满而未获延续（续期）的，继续经营即属未取得许可证经营电信业务：由电信管理机构责令改正，没收违法所得，处违法所得3倍以上5倍以下罚款；没有违法所得或者违法所得不足5万元的，处10万元以上100万元以下罚款；情节严重的，责令停业整顿。\n- 依据：《中华人民共和国电信条例》（2016年修订）第七条第三款、第六十九条\n- 准备材料：最新营业执照、财务报告、坐席照片、话务量数据、网络安全评估报告；按实践，审批约需 60 个工作日，材料退回补正另需约 30 个工作日，请尽早准备。\n- 办结后登记：`licwatch renewal submit 京B2-20201234 --on YYYY-MM-DD`\n\n> 由 licwatch 发送。事项办结后请执行对应命令登记，提醒即停止。\n",
                "title": "licwatch 合规提醒：共 2 项待办，其中 1 项紧急"
              },
              "msgtype": "markdown"
            }"#####]],
    );
}

#[test]
fn wecom_payload() {
    let alerts = two();
    let digest = digest(&alerts, Lang::Zh);
    check_json(
        &wecom(&digest, &digest.whole()),
        expect![[r####"
            {
              "markdown": {
                "content": "### licwatch 合规提醒：共 2 项待办，其中 1 项紧急\n\n**1. <font color=\"warning\">【紧急】</font>码号 961234 在许可证失效后仍在使用 · 京B2-20201234 · 北京示例呼叫中心有限公司**\n> 许可证失效日：2026-05-30（已失效 2 天）\n> 报送机关：北京市通信管理局\n> 风险：码号随许可证使用：许可证失效后继续使用码号，即属未取得许可证经营电信业务并擅自使用电信资源，由电信管理机构责令改正，没收违法所得，处违法所得3倍以上5倍以下罚款；没有违法所得或者违法所得不足5万元的，处10万元以上100万元以下罚款；情节严重的，责令停业整顿。\n> 依据：《中华人民共和国电信条例》（2016年修订）第七条第三款、第六十九条、第六十九条第（三）项\n> 办结后登记：`licwatch number release 961234 --on YYYY-MM-DD`\n\n**2. <font color=\"comment\">【提示】</font>许可证延续（续期）申请 · 京B2-20201234 · 北京示例呼叫中心有限公司**\n> 截止日期：2026-09-01（还剩 92 天）\n> 原发证机关：北京市通信管理局\n> 逾期后果：许可证有效期届满而未获延续（续期）的，继续经营即属未取得许可证经营电信业务：由电信管理机构责令改正，没收违法所得，处违法所得3倍以上5倍以下罚款；没有违法所得或者违法所得不足5万元的，处10万元以上100万元以下罚款；情节严重的，责令停业整顿。\n> 依据：《中华人民共和国电信条例》（2016年修订）第七条第三款、第六十九条\n> 准备材料：最新营业执照、财务报告、坐席照片、话务量数据、网络安全评估报告；按实践，审批约需 60 个工作日，材料退回补正另需约 30 个工作日，请尽早准备。\n> 办结后登记：`licwatch renewal submit 京B2-20201234 --on YYYY-MM-DD`\n\n<font color=\"comment\">由 licwatch 发送。事项办结后请执行对应命令登记，提醒即停止。</font>"
              },
              "msgtype": "markdown"
            }"####]],
    );
}

#[test]
fn feishu_payload() {
    let alerts = two();
    let digest = digest(&alerts, Lang::Zh);
    check_json(
        &feishu(&digest, &digest.whole()),
        expect![[r#"
            {
              "card": {
                "config": {
                  "wide_screen_mode": true
                },
                "elements": [
                  {
                    "content": "**1. 【紧急】码号 961234 在许可证失效后仍在使用 · 京B2-20201234 · 北京示例呼叫中心有限公司**\n许可证失效日：2026-05-30（已失效 2 天）\n报送机关：北京市通信管理局\n风险：码号随许可证使用：许可证失效后继续使用码号，即属未取得许可证经营电信业务并擅自使用电信资源，由电信管理机构责令改正，没收违法所得，处违法所得3倍以上5倍以下罚款；没有违法所得或者违法所得不足5万元的，处10万元以上100万元以下罚款；情节严重的，责令停业整顿。\n依据：《中华人民共和国电信条例》（2016年修订）第七条第三款、第六十九条、第六十九条第（三）项\n办结后登记：`licwatch number release 961234 --on YYYY-MM-DD`",
                    "tag": "markdown"
                  },
                  {
                    "tag": "hr"
                  },
                  {
                    "content": "**2. 【提示】许可证延续（续期）申请 · 京B2-20201234 · 北京示例呼叫中心有限公司**\n截止日期：2026-09-01（还剩 92 天）\n原发证机关：北京市通信管理局\n逾期后果：许可证有效期届满而未获延续（续期）的，继续经营即属未取得许可证经营电信业务：由电信管理机构责令改正，没收违法所得，处违法所得3倍以上5倍以下罚款；没有违法所得或者违法所得不足5万元的，处10万元以上100万元以下罚款；情节严重的，责令停业整顿。\n依据：《中华人民共和国电信条例》（2016年修订）第七条第三款、第六十九条\n准备材料：最新营业执照、财务报告、坐席照片、话务量数据、网络安全评估报告；按实践，审批约需 60 个工作日，材料退回补正另需约 30 个工作日，请尽早准备。\n办结后登记：`licwatch renewal submit 京B2-20201234 --on YYYY-MM-DD`",
                    "tag": "markdown"
                  },
                  {
                    "tag": "hr"
                  },
                  {
                    "content": "由 licwatch 发送。事项办结后请执行对应命令登记，提醒即停止。",
                    "tag": "markdown"
                  }
                ],
                "header": {
                  "template": "red",
                  "title": {
                    "content": "licwatch 合规提醒：共 2 项待办，其中 1 项紧急",
                    "tag": "plain_text"
                  }
                }
              },
              "msg_type": "interactive"
            }"#]],
    );
}

#[test]
fn slack_payload_in_english() {
    let alerts = two();
    let digest = digest(&alerts, Lang::En);
    check_json(
        &slack(&digest, &digest.whole()),
        expect![[r#"
            {
              "blocks": [
                {
                  "text": {
                    "emoji": false,
                    "text": "licwatch compliance reminder: 2 items due, 1 urgent",
                    "type": "plain_text"
                  },
                  "type": "header"
                },
                {
                  "text": {
                    "text": "*1. [URGENT] Number 961234 still in use after its licence ended · 京B2-20201234 · 北京示例呼叫中心有限公司*\n• Licence last valid on: 2026-05-30 (ended 2 days ago)\n• File with: 北京市通信管理局\n• Risk: A number is used under its licence: using it after the licence ended is operating without a licence and using a telecom resource without leave; the authority orders it corrected, confiscates the illegal income and fines 3 to 5 times that income, or RMB 100,000 to 1,000,000 when there is none or it is below RMB 50,000; in serious cases the business is suspended for rectification.\n• Basis: Telecommunications Regulations of the PRC (2016 revision), Art. 7(3), Art. 69, Art. 69(3)\n• When done, record it: `licwatch number release 961234 --on YYYY-MM-DD`",
                    "type": "mrkdwn"
                  },
                  "type": "section"
                },
                {
                  "type": "divider"
                },
                {
                  "text": {
                    "text": "*2. [Notice] Licence renewal application · 京B2-20201234 · 北京示例呼叫中心有限公司*\n• Due: 2026-09-01 (92 days left)\n• Issuing authority: 北京市通信管理局\n• If missed: Operating after the licence expires without a renewal (延续) is operating without a licence: the authority orders it corrected, confiscates the illegal income and fines 3 to 5 times that income, or RMB 100,000 to 1,000,000 when there is none or it is below RMB 50,000; in serious cases the business is suspended for rectification.\n• Basis: Telecommunications Regulations of the PRC (2016 revision), Art. 7(3), Art. 69\n• Prepare: latest business licence, financial report, photos of the seats, traffic data, network security assessment; in practice review takes about 60 working days (about 30 more if material is returned), so start now.\n• When done, record it: `licwatch renewal submit 京B2-20201234 --on YYYY-MM-DD`",
                    "type": "mrkdwn"
                  },
                  "type": "section"
                },
                {
                  "type": "divider"
                },
                {
                  "elements": [
                    {
                      "text": "Sent by licwatch. Run the command of an item once it is done and its reminders stop.",
                      "type": "mrkdwn"
                    }
                  ],
                  "type": "context"
                }
              ],
              "text": "licwatch compliance reminder: 2 items due, 1 urgent"
            }"#]],
    );
}

#[test]
fn webhook_payload() {
    let alerts = two();
    let digest = digest(&alerts, Lang::En);
    check_json(
        &webhook(&digest, &digest.whole(), "ops-hook", now()),
        expect![[r#"
            {
              "data": {
                "alerts": [
                  {
                    "authority": "北京市通信管理局",
                    "change": null,
                    "command": "licwatch number release 961234 --on YYYY-MM-DD",
                    "company": "北京示例呼叫中心有限公司",
                    "days_left": -2,
                    "due": "2026-05-30",
                    "key": "number_outlives_licence/京B2-20201234/961234/2026-05-30",
                    "kind": "number_outlives_licence",
                    "licence": "京B2-20201234",
                    "number": "961234",
                    "opens": "2026-04-30",
                    "severity": "critical",
                    "stage_offset": 2,
                    "state": "overdue",
                    "title": "[URGENT] Number 961234 still in use after its licence ended · 京B2-20201234 · 北京示例呼叫中心有限公司",
                    "year": null
                  },
                  {
                    "authority": "北京市通信管理局",
                    "change": null,
                    "command": "licwatch renewal submit 京B2-20201234 --on YYYY-MM-DD",
                    "company": "北京示例呼叫中心有限公司",
                    "days_left": 92,
                    "due": "2026-09-01",
                    "key": "renewal/京B2-20201234/2026-11-30",
                    "kind": "renewal",
                    "licence": "京B2-20201234",
                    "number": null,
                    "opens": "2026-08-02",
                    "severity": "info",
                    "stage_offset": -90,
                    "state": "open",
                    "title": "[Notice] Licence renewal application · 京B2-20201234 · 北京示例呼叫中心有限公司",
                    "year": null
                  }
                ],
                "lang": "en",
                "part": 1,
                "parts": 1,
                "route": "ops-hook",
                "text": "licwatch compliance reminder: 2 items due, 1 urgent\n\n1. [URGENT] Number 961234 still in use after its licence ended · 京B2-20201234 · 北京示例呼叫中心有限公司\n   Licence last valid on: 2026-05-30 (ended 2 days ago)\n   File with: 北京市通信管理局\n   Risk: A number is used under its licence: using it after the licence ended is operating without a licence and using a telecom resource without leave; the authority orders it corrected, confiscates the illegal income and fines 3 to 5 times that income, or RMB 100,000 to 1,000,000 when there is none or it is below RMB 50,000; in serious cases the business is suspended for rectification.\n   Basis: Telecommunications Regulations of the PRC (2016 revision), Art. 7(3), Art. 69, Art. 69(3)\n   When done, record it: licwatch number release 961234 --on YYYY-MM-DD\n\n2. [Notice] Licence renewal application · 京B2-20201234 · 北京示例呼叫中心有限公司\n   Due: 2026-09-01 (92 days left)\n   Issuing authority: 北京市通信管理局\n   If missed: Operating after the licence expires without a renewal (延续) is operating without a licence: the authority orders it corrected, confiscates the illegal income and fines 3 to 5 times that income, or RMB 100,000 to 1,000,000 when there is none or it is below RMB 50,000; in serious cases the business is suspended for rectification.\n   Basis: Telecommunications Regulations of the PRC (2016 revision), Art. 7(3), Art. 69\n   Prepare: latest business licence, financial report, photos of the seats, traffic data, network security assessment; in practice review takes about 60 working days (about 30 more if material is returned), so start now.\n   When done, record it: licwatch renewal submit 京B2-20201234 --on YYYY-MM-DD\n\nSent by licwatch. Run the command of an item once it is done and its reminders stop.\n",
                "title": "licwatch compliance reminder: 2 items due, 1 urgent"
              },
              "timestamp": "2026-05-28T20:26:40Z",
              "type": "licwatch.digest"
            }"#]],
    );
}

#[test]
fn test_message_headers() {
    let zh = test_digest("ops-ding", Lang::Zh);
    let en = test_digest("ops-ding", Lang::En);
    check_text(
        &plain(&zh, &zh.whole()),
        expect![[r#"
        licwatch 测试消息：路由 ops-ding 可以送达

        由 licwatch 发送。事项办结后请执行对应命令登记，提醒即停止。
    "#]],
    );
    check_text(
        &plain(&en, &en.whole()),
        expect![[r#"
        licwatch test message: route ops-ding works

        Sent by licwatch. Run the command of an item once it is done and its reminders stop.
    "#]],
    );
}

fn hostile() -> Vec<Alert> {
    let mut alerts = two();
    alerts.truncate(1);
    alerts[0].obligation.company =
        "<script>alert(1)</script> *_[] \"quoted\" 'single' & co\nsecond line".to_owned();
    alerts
}

#[test]
fn hostile_company_name_is_escaped_in_every_format() {
    let alerts = hostile();
    let digest = digest(&alerts, Lang::Zh);
    let whole = digest.whole();
    let title = |text: &str| {
        text.lines()
            .filter(|line| line.contains("alert(1)"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    check_text(
        &title(&plain(&digest, &whole)),
        expect![[
            r#"1. 【紧急】码号 961234 在许可证失效后仍在使用 · 京B2-20201234 · <script>alert(1)</script> *_[] "quoted" 'single' & co second line"#
        ]],
    );
    check_text(
        &title(&html(&digest, &whole)),
        expect![
            "<li><p><strong>【紧急】码号 961234 在许可证失效后仍在使用 · 京B2-20201234 · &lt;script&gt;alert(1)&lt;/script&gt; *_[] &quot;quoted&quot; &#39;single&#39; &amp; co second line</strong></p>"
        ],
    );
    check_text(
        &title(
            dingtalk(&digest, &whole)["markdown"]["text"]
                .as_str()
                .unwrap_or_default(),
        ),
        expect![[
            r#"**1. 【紧急】码号 961234 在许可证失效后仍在使用 · 京B2-20201234 · `<script>alert(1)</script>` `*_[]` "quoted" 'single' `&` co second line**"#
        ]],
    );
    check_text(
        &title(&wecom_markdown(&digest, &whole)),
        expect![[
            r#"**1. <font color="warning">【紧急】</font>码号 961234 在许可证失效后仍在使用 · 京B2-20201234 · `<script>alert(1)</script>` `*_[]` "quoted" 'single' `&` co second line**"#
        ]],
    );
    check_text(
        &title(
            feishu(&digest, &whole)["card"]["elements"][0]["content"]
                .as_str()
                .unwrap_or_default(),
        ),
        expect![[
            r#"**1. 【紧急】码号 961234 在许可证失效后仍在使用 · 京B2-20201234 · `<script>alert(1)</script>` `*_[]` "quoted" 'single' `&` co second line**"#
        ]],
    );
    check_text(
        &title(
            slack(&digest, &whole)["blocks"][1]["text"]["text"]
                .as_str()
                .unwrap_or_default(),
        ),
        expect![[
            r#"*1. 【紧急】码号 961234 在许可证失效后仍在使用 · 京B2-20201234 · &lt;script&gt;alert(1)&lt;/script&gt; `*_[]` "quoted" 'single' &amp; co second line*"#
        ]],
    );
}

#[test]
fn most_severe_first_then_soonest_due() {
    let alerts = every_kind();
    let digest = digest(&alerts, Lang::En);
    let order: Vec<String> = digest
        .items
        .iter()
        .map(|item| {
            format!(
                "{} {} {}",
                item.source,
                item.alert.stage.severity.code(),
                item.alert.obligation.due
            )
        })
        .collect();
    expect![[r#"
        [
            "2 critical 2025-11-29",
            "4 critical 2026-03-31",
            "5 critical 2026-05-30",
            "6 critical 2026-06-10",
            "1 warning 2026-06-19",
            "3 warning 2026-07-10",
            "0 info 2026-09-01",
        ]
    "#]]
    .assert_debug_eq(&order);
}

fn many(count: usize) -> Vec<Alert> {
    (0..count)
        .map(|i| {
            let mut alert = every_kind().remove(i % 7);
            // Keys of one shape that sort by `i` as text, like the alerts of
            // a big register.
            alert.obligation.key =
                keys::change_filing(&alert.obligation.licence, i64::try_from(i).expect("small"));
            alert
        })
        .collect()
}

/// Splits `count` alerts with `fits`; checks that every part fits, items
/// are all there in order, and headers are numbered. Returns the part sizes.
fn check_split(count: usize, fits: impl Fn(&Digest<'_>, &Part) -> bool) -> Vec<usize> {
    let alerts = many(count);
    let digest = digest(&alerts, Lang::Zh);
    let parts = digest.split(|part| fits(&digest, part));
    let mut next = 0;
    for part in &parts {
        assert!(fits(&digest, part), "part {part:?} does not fit");
        assert_eq!(part.items.start, next);
        assert!(!part.items.is_empty());
        next = part.items.end;
        let header = digest.header(part);
        if parts.len() > 1 {
            assert!(
                header.ends_with(&format!("（{}/{}）", part.index, parts.len())),
                "{header}"
            );
        }
    }
    assert_eq!(next, count);
    parts.iter().map(|part| part.items.len()).collect()
}

#[test]
fn digests_over_a_limit_split_between_items() {
    let wecom_sizes = check_split(20, |digest, part| {
        wecom_markdown(digest, part).len() <= crate::notify::wecom::MARKDOWN_LIMIT
    });
    let ding_sizes = check_split(100, crate::notify::dingtalk::fits);
    let feishu_sizes = check_split(100, crate::notify::feishu::fits);
    let slack_sizes = check_split(60, crate::notify::slack::fits);
    expect![[r#"
        (
            [
                4,
                4,
                5,
                5,
                2,
            ],
            [
                22,
                25,
                32,
                21,
            ],
            [
                21,
                24,
                29,
                23,
                3,
            ],
            [
                24,
                24,
                12,
            ],
        )
    "#]]
    .assert_debug_eq(&(wecom_sizes, ding_sizes, feishu_sizes, slack_sizes));
}

#[test]
fn a_digest_that_fits_is_one_unnumbered_message() {
    let alerts = two();
    let digest = digest(&alerts, Lang::Zh);
    let parts = digest.split(|part| crate::notify::wecom::fits(&digest, part));
    assert_eq!(parts, vec![digest.whole()]);
    assert!(!digest.header(&parts[0]).contains("1/1"));
}

#[test]
fn an_endless_company_name_is_cut_so_one_item_fits_the_smallest_limit() {
    let mut alerts = every_kind();
    alerts.truncate(1);
    alerts[0].obligation.company = "很长的公司名称".repeat(1000);
    alerts[0].obligation.authority = "&".repeat(5000);
    let digest = digest(&alerts, Lang::Zh);
    assert!(crate::notify::wecom::fits(&digest, &digest.whole()));
    assert!(
        digest.items[0].title.ends_with("很长…"),
        "{}",
        digest.items[0].title
    );
}

/// What a reader copies from a rendered chat line: code spans give their
/// text verbatim, and outside them no markup character may be left for the
/// renderer to eat. Slack also decodes its three entities.
fn copied(markdown: &str, markup: &[char], slack: bool) -> String {
    let mut out = String::new();
    let mut rest = markdown;
    while !rest.is_empty() {
        let (fence, open) = match (rest.find("`` "), rest.find('`')) {
            (Some(double), Some(single)) if double == single => ("``", double),
            (_, Some(single)) => ("`", single),
            (_, None) => {
                assert!(!rest.contains(markup), "markup outside a code span: {rest}");
                out.push_str(rest);
                break;
            }
        };
        let before = &rest[..open];
        assert!(
            !before.contains(markup),
            "markup outside a code span: {before}"
        );
        out.push_str(before);
        let inner_start = open + fence.len();
        let close = rest[inner_start..].find(fence).expect("a closed code span") + inner_start;
        let inner = &rest[inner_start..close];
        out.push_str(if fence == "``" {
            inner.trim_matches(' ')
        } else {
            inner
        });
        rest = &rest[close + fence.len()..];
    }
    if slack {
        out = out
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&");
    }
    out
}

/// Issue 19: escaping must not change what people copy. A name with every
/// markup character, an e-mail address and a config key, pasted back from
/// each chat format, are the text they were.
#[test]
fn issue_19_a_name_pasted_back_from_any_chat_message_is_the_name() {
    for name in [
        "北京*星_辰&科技<有限>公司 [总部] #1 ~a~ |b| back\\slash",
        "ops_team@example.cn",
        "calendar.holiday_files",
        "A`B 公司",
    ] {
        assert_eq!(copied(&escape_chat(name), CHAT_MARKUP, false), name);
        assert_eq!(copied(&escape_slack(name), SLACK_MARKUP, true), name);
    }
    // Through a whole message: the company part of the title.
    let mut alerts = two();
    alerts.truncate(1);
    let name = "示例_呼叫*中心 & co";
    alerts[0].obligation.company = name.to_owned();
    let digest = digest(&alerts, Lang::Zh);
    let whole = digest.whole();
    let text = dingtalk(&digest, &whole)["markdown"]["text"]
        .as_str()
        .unwrap()
        .to_owned();
    let line = text.lines().find(|l| l.contains("呼叫")).unwrap();
    let company = line.trim_end_matches("**").rsplit(" · ").next().unwrap();
    assert_eq!(copied(company, CHAT_MARKUP, false), name);
}

/// Issue 19: an e-mail's subject names its most urgent item, and a notice's
/// subject is a short title, not its whole text.
#[test]
fn issue_19_the_subject_names_the_most_urgent_item() {
    let alerts = every_kind();
    let subjects: Vec<String> = [Lang::Zh, Lang::En]
        .into_iter()
        .map(|lang| {
            let digest = digest(&alerts, lang);
            digest.subject(&digest.whole())
        })
        .collect();
    expect![[r#"
        [
            "【紧急】京B2-20201234 许可证延续（续期）申请，许可证已过期 等 7 项",
            "[URGENT] 京B2-20201234 Licence renewal application: the licence has expired, and 6 more",
        ]
    "#]]
    .assert_debug_eq(&subjects);
    let mut one = two();
    one.truncate(1);
    let digest = digest(&one, Lang::Zh);
    expect!["【紧急】京B2-20201234 码号 961234 在许可证失效后仍在使用（许可证已失效）"]
        .assert_eq(&digest.subject(&digest.whole()));
    let notice = notice_digest(
        "notice/holidays/2027",
        "licwatch：缺少 2027 年的节假日安排，2027 年的提醒只避开周末……",
        Lang::Zh,
    );
    expect!["licwatch：缺少 2027 年节假日安排"].assert_eq(&notice.subject(&notice.whole()));
}

#[test]
fn with_a_public_url_each_item_links_to_its_page() {
    let alerts = [alert(
        ObligationKind::Renewal,
        "renewal/京B2-20201234/2026-02-27",
        d(2025, 11, 29),
        -90,
        Severity::Warning,
        90,
    )];
    let mut digest = digest(&alerts, Lang::Zh);
    let base = url::Url::parse("https://licwatch.example.com/").expect("a valid URL");
    link::link(&mut digest, &base);
    let text = plain(&digest, &digest.whole());
    assert!(
        text.contains("处理页面：https://licwatch.example.com/obligation/renewal%2F%E4%BA%ACB2-20201234%2F2026-02-27"),
        "{text}"
    );
}

/// An obligation key holds `_` (annual_report, number_activation), which the
/// chat robots' markdown reads as emphasis: the link is encoded so that it
/// stays bare text DingTalk and WeCom make a tappable link, not a code span.
#[test]
fn a_robots_link_is_not_a_code_span() {
    let alerts = [alert(
        ObligationKind::AnnualReport,
        "annual_report/京B2-20201234/2025",
        d(2026, 1, 1),
        0,
        Severity::Info,
        89,
    )];
    let mut digest = digest(&alerts, Lang::Zh);
    let base = url::Url::parse("https://licwatch.example.com/").expect("a valid URL");
    link::link(&mut digest, &base);
    let body = dingtalk(&digest, &digest.whole());
    let text = body["markdown"]["text"].as_str().expect("markdown text");
    let url =
        "https://licwatch.example.com/obligation/annual%5Freport%2F%E4%BA%ACB2-20201234%2F2025";
    assert!(text.contains(&format!("处理页面：{url}")), "{text}");
    assert!(!text.contains(&format!("`{url}`")), "{text}");
}
