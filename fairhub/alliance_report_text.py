"""The alliance report's words, in Chinese and English: headings, labels of member kinds,
offer kinds and hire channels (the same in the CSV, the workbook and the A4 page)."""

# Chinese labels use full-width punctuation, as Chinese text should.
# ruff: noqa: RUF001

from __future__ import annotations

TEXT: dict[str, dict[str, str]] = {
    "zh": {
        "title": "联盟数据报告", "as_of": "数据截至", "region": "地区", "rules": "实习补贴规则",
        "rule": "实习生达在职人数 {share}% 的企业，每个实习岗位每学期 {amount} 元",
        "summary": "总体数据", "members": "成员明细", "occupations": "工种明细",
        "offers": "培训项目明细", "channels": "录用渠道", "subsidies": "实习补贴",
        "metric": "指标", "value": "数值", "total": "合计", "none": "（无）",
        "total_part": "人次", "unique_part": "人数",
        "member_count": "成员单位", "demand": "岗位需求", "seats": "培训名额",
        "hires_at_fairs": "招聘会录用", "internship_subsidy": "应付实习补贴",
        "training_subsidy": "应付培训补贴", "subsidy_total": "补贴合计",
        "member": "成员", "kind": "类型", "joined_at": "加入日期", "left_at": "退出日期",
        "occupation": "工种", "technical": "技术管理岗需求", "skilled": "技能岗需求",
        "institution": "培训机构", "subsidy_per_trainee": "每人补贴",
        "channel": "渠道", "enterprise": "企业", "semester": "学期", "staff": "在职人数",
        "internship_posts": "实习岗位", "amount": "补贴金额",
        "training_signups": "培训报名", "training_completions": "培训结业",
        "certifications": "技能取证", "internships": "实习", "hires": "录用",
        "kind.school": "学校", "kind.technical_school": "技工学校",
        "kind.vocational_school": "职业学校", "kind.enterprise": "企业",
        "kind.association": "行业协会", "kind.training_institution": "培训机构",
        "kind.subsidised": "补贴性培训", "kind.certification": "技能等级认定",
        "kind.project_class": "订单班",
        "channel.fair": "招聘会", "channel.livestream": "直播带岗", "channel.training": "培训",
        "channel.internship": "实习", "channel.other": "其他",
    },
    "en": {
        "title": "Alliance report", "as_of": "Figures as of", "region": "Region",
        "rules": "Internship subsidy rule",
        "rule": "enterprises whose interns reach {share}% of their staff: {amount} yuan per"
        " internship post per semester",
        "summary": "Summary", "members": "By member", "occupations": "By occupation",
        "offers": "By training offer", "channels": "Hires by channel",
        "subsidies": "Internship subsidies",
        "metric": "Metric", "value": "Value", "total": "Total", "none": "(none)",
        "total_part": "total", "unique_part": "people",
        "member_count": "Members", "demand": "Demand", "seats": "Seats",
        "hires_at_fairs": "Hires at fairs", "internship_subsidy": "Internship subsidy owed",
        "training_subsidy": "Training subsidy owed", "subsidy_total": "Subsidies owed",
        "member": "Member", "kind": "Kind", "joined_at": "Joined", "left_at": "Left",
        "occupation": "Occupation", "technical": "Technical demand", "skilled": "Skilled demand",
        "institution": "Institution", "subsidy_per_trainee": "Subsidy per trainee",
        "channel": "Channel", "enterprise": "Enterprise", "semester": "Semester",
        "staff": "Staff", "internship_posts": "Internship posts", "amount": "Amount",
        "training_signups": "Sign-ups", "training_completions": "Completions",
        "certifications": "Certified", "internships": "Interns", "hires": "Hires",
        "kind.school": "school", "kind.technical_school": "technical school",
        "kind.vocational_school": "vocational school", "kind.enterprise": "enterprise",
        "kind.association": "association", "kind.training_institution": "training institution",
        "kind.subsidised": "subsidised training", "kind.certification": "skill certification",
        "kind.project_class": "project class",
        "channel.fair": "fair", "channel.livestream": "livestream", "channel.training": "training",
        "channel.internship": "internship", "channel.other": "other",
    },
}  # fmt: skip
