//! Every kind in both languages, and each channel's format of one digest.

use super::*;

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
