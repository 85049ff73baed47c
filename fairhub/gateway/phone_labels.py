"""The seeker's phone pages' words in Chinese (the default) and English: the fair's page with
sign-up, "my badge and applications", and the employer and position pages a booth's code opens.

Labels reach the scripts as JSON; `{name}` marks a value the script or page fills in.
"""

# Chinese labels use full-width punctuation, as Chinese text should.
# ruff: noqa: RUF001

from __future__ import annotations

LABELS: dict[str, dict[str, str]] = {
    "zh": {
        "other_lang": "English", "not_found": "页面不存在",
        "not_found_text": "该招聘会、企业或职位不存在，或已下线。",
        # The employer and position pages.
        "booth": "展位", "positions": "在招职位", "search_ph": "搜索职位、地点或薪资",
        "search": "搜索",
        "all": "全部", "headcount": "招 {n} 人", "none": "没有符合条件的职位",
        "apply_short": "投递", "applied": "已投递", "apply_employer": "投递该企业（不指定职位）",
        "signup_to_apply": "报名后一键投递 ›", "hello": "{name}，你好", "my_page": "我的投递 ›",
        "resume_once": "上传简历（只需一次，之后每个职位一键投递）",
        "upload_apply": "上传并投递", "sending": "正在投递…",
        "sent": "已投递给 {name}，祝你成功！", "again": "此前已投递过。",
        "need_file": "请选择简历文件", "failed": "投递失败", "too_big": "文件太大",
        "later": "服务繁忙，请稍后再试", "network": "网络不通，请重试", "fields": "请检查",
        "badge_way": "已有胸卡编码？用编码投递", "badge": "胸卡编码",
        "badge_hint": "入场胸卡的编码，可粘贴；本机会记住", "position": "投递职位",
        "any_position": "不指定职位", "file": "简历文件（PDF、Word 或图片）", "send": "投递",
        "need_badge": "请填写胸卡编码", "resume_kept": "简历：{name}",
        # The fair's page: sign-up and sign-in.
        "signup_title": "线上报名", "signup_lead": "报名后获得电子入场码，可一键投递简历。",
        "name": "姓名", "phone": "手机号", "school": "学校", "major": "专业",
        "graduation_year": "毕业年份", "optional": "选填", "consent":
        "我已阅读并同意《个人信息保护说明》", "privacy_title": "个人信息保护说明",
        "signup_button": "报名", "signing_up": "正在报名…",
        "registered": "该手机号已报名。获取验证码后即可在本机登录。",
        "signin_title": "已报名？用手机号登录", "code": "短信验证码", "send_code": "获取验证码",
        "code_sent": "验证码已发送，{minutes} 分钟内有效。", "resend_in": "{s} 秒后可重发",
        "signin_button": "登录", "need_code": "请填写 6 位验证码",
        "not_registered": "该手机号还没有报名，请在上方报名。",
        "closed": "报名已截止。已报名的同学可用手机号登录。",
        "full": "报名名额已满。已报名的同学可用手机号登录。",
        "employers": "参会企业", "employers_note": "{e} 家企业 · {n} 个岗位",
        "jobs": "{n} 个岗位", "streams": "直播带岗", "watch_stream": "进入直播间 ›",
        "live_now": "直播中", "scheduled": "即将开播", "my_badge": "我的入场码",
        "my_applications": "我的投递", "need_consent": "请先同意个人信息保护说明",
        "need_name": "请填写姓名", "need_phone": "请填写手机号",
        # My page.
        "badge_title": "电子入场码", "badge_number": "{fair} · 第 {number} 号",
        "badge_note": "入场时向闸机出示此码。本页已存在本机，没有网络也能打开。",
        "my_resume": "我的简历", "no_resume": "还没有上传简历。上传一次，之后一键投递。",
        "uploaded": "{size} · {at} 上传", "replace": "更换简历", "upload": "上传简历",
        "uploading": "正在上传…", "uploaded_ok": "简历已保存。",
        "applications_none": "还没有投递。去看看参会企业吧。", "go_apply": "去投递 ›",
        "status_sent": "已投递", "status_viewed": "企业已查看", "status_intent": "已达成意向",
        "status_withdrawn": "已撤回", "withdraw": "撤回", "confirm_withdraw": "再按一次撤回",
        "sent_at": "{at} 投递", "live": "直播", "any": "不限职位",
        "delete_title": "删除我的数据",
        "delete_text": "删除你的姓名、手机号、学校、专业和简历文件，入场码作废，"
        "已投递的企业也将看不到你的简历。招聘会的统计数字只保留匿名总数。此操作不可撤销。",
        "delete": "删除我的数据", "confirm_delete": "再按一次确认删除",
        "deleted": "你的数据已删除。", "sign_in_again": "请重新登录。",
    },
    "en": {
        "other_lang": "中文", "not_found": "Page not found",
        "not_found_text": "This fair, employer or position does not exist or is no longer listed.",
        "booth": "Booth", "positions": "Open positions", "search_ph": "Search jobs, places or pay",
        "search": "Search", "all": "All", "headcount": "{n} openings",
        "none": "No matching positions", "apply_short": "Apply", "applied": "Applied",
        "apply_employer": "Apply to this employer (any position)",
        "signup_to_apply": "Sign up to apply in one tap ›", "hello": "Hello, {name}",
        "my_page": "My applications ›",
        "resume_once": "Your résumé (once; then one tap per position)",
        "upload_apply": "Upload and apply", "sending": "Sending…",
        "sent": "Sent to {name}. Good luck!", "again": "You had already applied.",
        "need_file": "Choose a résumé file", "failed": "Not sent",
        "too_big": "The file is too large", "later": "Busy, please try again shortly",
        "network": "Network error, please retry", "fields": "check",
        "badge_way": "Have a badge code? Apply with it", "badge": "Badge code",
        "badge_hint": "The code of your entry badge; paste it once, this phone remembers it",
        "position": "Position", "any_position": "Any position",
        "file": "Résumé file (PDF, Word or image)", "send": "Send",
        "need_badge": "Enter your badge code", "resume_kept": "Résumé: {name}",
        "signup_title": "Sign up",
        "signup_lead": "Get your entry code on this phone and apply in one tap.",
        "name": "Name", "phone": "Mobile number", "school": "School", "major": "Major",
        "graduation_year": "Graduation year", "optional": "optional",
        "consent": "I have read and agree to the privacy notice",
        "privacy_title": "Privacy notice", "signup_button": "Sign up",
        "signing_up": "Signing up…",
        "registered": "This number is already registered. Get a code to sign in on this phone.",
        "signin_title": "Already signed up? Sign in with your number", "code": "Code (SMS)",
        "send_code": "Get a code", "code_sent": "Code sent; valid for {minutes} minutes.",
        "resend_in": "again in {s} s", "signin_button": "Sign in",
        "need_code": "Enter the 6-digit code",
        "not_registered": "This number has not signed up yet: sign up above.",
        "closed": "Sign-up is closed. If you signed up before, sign in with your number.",
        "full": "Sign-up is full. If you signed up before, sign in with your number.",
        "employers": "Employers", "employers_note": "{e} employers · {n} positions",
        "jobs": "{n} positions", "streams": "Live recruitment", "watch_stream": "Watch ›",
        "live_now": "Live", "scheduled": "Starting soon", "my_badge": "My entry code",
        "my_applications": "My applications", "need_consent": "Agree to the privacy notice first",
        "need_name": "Enter your name", "need_phone": "Enter your mobile number",
        "badge_title": "Entry code", "badge_number": "{fair} · No. {number}",
        "badge_note": "Show this code at the gate. This page is kept on your phone and opens"
        " without a network.",
        "my_resume": "My résumé", "no_resume": "No résumé yet. Upload it once, then apply in"
        " one tap.",
        "uploaded": "{size} · uploaded {at}", "replace": "Replace", "upload": "Upload",
        "uploading": "Uploading…", "uploaded_ok": "Résumé saved.",
        "applications_none": "No applications yet. Have a look at the employers.",
        "go_apply": "Find positions ›", "status_sent": "Sent", "status_viewed": "Viewed",
        "status_intent": "Intent agreed", "status_withdrawn": "Withdrawn",
        "withdraw": "Withdraw", "confirm_withdraw": "Press again to withdraw",
        "sent_at": "sent {at}", "live": "livestream", "any": "any position",
        "delete_title": "Delete my data",
        "delete_text": "Erases your name, number, school, major and résumé files; your entry"
        " code stops working and employers no longer see your résumé. The fair's figures keep"
        " anonymous totals only. This cannot be undone.",
        "delete": "Delete my data", "confirm_delete": "Press again to delete",
        "deleted": "Your data was deleted.", "sign_in_again": "Please sign in again.",
    },
}  # fmt: skip

# What the privacy notice says: what is kept, who sees it, for how long. Shown at sign-up.
PRIVACY: dict[str, tuple[str, ...]] = {
    "zh": (
        "我们保存：你填写的姓名、手机号、学校、专业、毕业年份，你上传的简历文件，"
        "以及你的入场、投递和咨询记录。",
        "谁能看到：本场招聘会的主办方可以看到你的报名信息；企业只能看到你投递给它的简历"
        "及其中的信息，看不到你投递给其他企业的内容。",
        "用途：入场核验、把你的简历送达你选择的企业、统计招聘会的匿名总数。",
        "保存多久：直到你在“我的”页面删除，或主办方清除本场招聘会的数据。"
        "你可以随时撤回投递、删除自己的全部个人数据。",
    ),
    "en": (
        "What we keep: the name, mobile number, school, major and graduation year you give,"
        " the résumé files you upload, and your entries, applications and questions.",
        "Who sees it: the fair's organizer sees your sign-up; an employer sees only the"
        " résumés you send to it, never what you send to others.",
        "What for: checking you in, delivering your résumé to the employers you choose, and"
        " the fair's anonymous totals.",
        "For how long: until you delete it on your page, or the organizer clears the fair's"
        " data. You may withdraw an application or erase all your personal data at any time.",
    ),
}
