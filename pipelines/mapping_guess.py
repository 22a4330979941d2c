"""What an export's file, column or code probably is: the name and code heuristics of `tiercast mapping draft`.

Names: a synonym list per tiercast column (English snake / UPPER / camel names, BOSS names such as
USER_ID or BILL_CYCLE, Chinese names such as 用户编号 or 账期), scored against the export's names.
Files: words in a file's name that say which table it holds.
Codes: keywords per closed-vocabulary value (主动离网 -> voluntary, 10086热线 -> voice, CMPL -> complaint).
Values: whether a column's `Profile` (pipelines/column_profile.py) can be, or looks like, a tiercast column.
Everything here is pure: names and profiles in, what they suggest out.
"""

from __future__ import annotations

import re
import unicodedata

from data_contracts.loader import ColumnSpec
from pipelines.column_profile import Profile

# tiercast column -> names an export gives it, "|"-separated (compared by words, Chinese by substring; accents are
# dropped first, so Spanish names are written without them: código -> codigo).
NAMES: dict[str, str] = {
    "subscriber_id": "subscriber id|subscriber|user id|customer id|customer ref|customer number|account id"
    "|用户编号|用户id|用户标识|客户编号|客户id|客户标识"
    "|codigo cliente|id cliente|numero cliente|numero abonado",
    "msisdn": "msisdn|serial number|phone number|mobile number|service number|phone|mobile"
    "|号码|手机号|手机号码|电话号码|服务号码|计费号码"
    "|telefono|numero telefono|movil|numero movil",
    "activation_date": "activation date|activate date|activated|open date|start date|join date|in date"
    "|入网日期|入网时间|开户日期|开户时间|开通日期|激活日期"
    "|fecha alta|fecha activacion",
    "deactivation_date": "deactivation date|deactivated|destroy date|termination date|terminate date|cancel date"
    "|close date|churn date|remove date|stop date|离网日期|离网时间|销户日期|销户时间|拆机日期|注销日期"
    "|fecha baja|fecha desactivacion",
    "deactivation_reason": "deactivation reason|destroy reason|remove reason|termination reason|termination code"
    "|cancel reason|churn reason|close reason|离网原因|销户原因|拆机原因|注销原因"
    "|motivo baja|causa baja",
    "plan": "plan|tariff|rate plan|price plan|product name|product|offer name|套餐|资费|产品名称|主套餐|产品"
    "|tarifa|plan tarifario",
    "contract_type": "contract type|contract code|contract|payment type|合约类型|付费类型|付费方式|合约",
    "contract_end_date": "contract end date|commitment end date|contract end|commitment end|合约到期|合约结束",
    "brand": "brand|品牌",
    "segment": "segment|customer segment|customer type|user type|客户类型|用户类型|客户群|客户分群",
    "birth_year": "birth year|year of birth|birth|出生年份|出生年",
    "gender": "gender|sex|性别",
    "region": "region|city|area|home city|prefecture|地市|城市|地区|区域|归属地",
    "sales_channel": "sales channel|acquisition channel|sale channel|发展渠道|入网渠道|销售渠道",
    "list_flag": "list flag|vip flag|vip status|vip|red black|红黑名单|名单|vip标识",
    "do_not_contact": "do not contact|dnc|dnc flag|no contact|opt out|免打扰|拒绝营销|勿扰",
    "bill_month": "bill month|bill cycle|billing cycle|billing month|billing period|bill period|invoice period"
    "|invoice month|cycle|period|month|账期|帐期|账单月份|账单月|计费月份|出账月份|月份"
    "|periodo|periodo facturacion|mes factura",
    "amount": "amount|bill amount|total amount|total fee|fee total|total charge|fee|charge|total"
    "|应收|应收金额|账单金额|金额|费用|话费|总费用"
    "|importe|importe facturado|total factura",
    "base_fee": "base fee|monthly fee|recurring charge|recurring fee|plan fee|rental|月租|月租费|套餐费|基本费",
    "voice_minutes": "voice minutes|voice|call minutes|minutes of use|mou|通话分钟|语音分钟|通话时长",
    "data_mb": "data mb|data volume|data usage|gprs|流量|上网流量|数据流量",
    "sms_count": "sms count|sms|短信|短信条数|短信数",
    "data_amount": "data amount|data fee|data charge|流量费|数据费|上网费",
    "long_distance_amount": "long distance amount|long distance|ld charge|ld amount|长途费|长途",
    "roaming_amount": "roaming amount|roaming charge|roaming|漫游费|漫游",
    "value_added_amount": "value added amount|value added|vas charge|vas|增值业务费|增值费|增值",
    "due_date": "due date|due|deadline|pay deadline|截止日期|缴费截止日期|到期日期|到期日|最后缴费日期"
    "|vencimiento|fecha vencimiento",
    "paid_date": "pay date|settled date|settle date|pay time|缴费日期|缴费时间|付款日期|支付日期|实缴日期|入账日期"
    "|fecha cobro|fecha pago",
    "amount_paid": "amount pay|pay amount|pay fee|settled amount|received amount|实收|实收金额|实缴金额|缴费金额"
    "|付款金额|支付金额|amount|金额"
    "|importe cobrado|importe pagado",
    "contact_id": "contact id|interaction id|ticket id|call id|case id|工单号|工单编号|接触编号|流水号",
    "contact_time": "contact time|contact date|call time|start time|started at|interaction time|create time"
    "|created at|联系时间|来电时间|呼叫时间|受理时间|接触时间|创建时间|开始时间"
    "|fecha hora|fecha contacto",
    "channel": "channel|channel code|contact channel|media|渠道|接触渠道|受理渠道|服务渠道|来源渠道|canal",
    "reason": "reason|reason code|contact reason|call reason|topic|category|subject|service type|contact type"
    "|call type|request type"
    "|原因|诉求|诉求类型|来电原因|业务类型|服务类型|接触原因"
    "|motivo|tipologia",
    "resolved": "resolved|resolution|first time resolution|ftr|fcr|是否解决|解决|已解决|一次解决",
    "wait_seconds": "wait second|wait|queue wait|wait time|等待时长|排队时长|等待时间",
    "handle_seconds": "handle second|handle time|handling time|talk time|duration|处理时长|通话时长|服务时长",
    "abandoned": "abandoned|abandon|是否放弃|放弃",
    # campaigns (the optional table of retention campaign records)
    "campaign_date": "campaign date|campaign day|campaign|list date|issue date|营销日期|活动日期|批次日期|营销批次"
    "|fecha campana",
    "desk": "desk|team|agent group|department|坐席组|班组|团队|部门|equipo",
    "group": "group|arm|test group|control group|treatment|分组|组别|grupo",
    "offer": "offer|offer code|incentive|promotion|优惠|权益|赠送|oferta",
    "called_at": "called at|call time|call date|dial time|外呼时间|拨打时间|致电时间|fecha llamada",
    "outcome": "outcome|result|call result|disposition|response|结果|外呼结果|回应|resultado",
}
# Words in a file's name that say which table it holds.
FILE_HINTS: dict[str, str] = {
    "subscribers": "subscriber|user|customer|crm|account|member|用户|客户|资料|档案|cliente|abonado|maestro",
    "bills": "bill|billing|invoice|charge|账单|帐单|话费|计费|出账|factura|facturacion",
    "payments": "pay|collection|receipt|缴费|收费|付款|支付|实收|销账|cobro|pago|recaudacion",
    "contacts": "contact|interaction|call|ticket|complaint|接触|呼叫|工单|来电|客服|投诉|服务记录"
    "|interaccion|interacciones|contacto|llamada",
    "campaigns": "campaign|retention|marketing|outbound|营销|活动|挽留|外呼|campana|retencion",
}
# Closed vocabularies: tiercast value -> keywords of an export's codes; on a tie of keyword length
# the value listed first wins (销户咨询 is a cancel intent before it is an inquiry).
CODE_WORDS: dict[str, dict[str, str]] = {
    "deactivation_reason": {
        "non_payment": "欠费|欠费停机|non payment|nonpayment|non pay|nonpay|npy|unpaid|arrears|debt|involuntary",
        "voluntary": "主动|主动离网|用户申请|申请|自愿|携号转网|携转|销户|voluntary|vol|customer request|port out",
    },
    "contract_type": {
        "contract_24m": "24个月|两年|24m|c24|24 month|contract 24",
        "contract_12m": "12个月|一年|12m|c12|12 month|contract 12",
        "prepaid": "预付费|预付|prepaid|pre paid|pre|prepay",
        "postpaid": "后付费|后付|postpaid|post paid|post|postpay",
    },
    "list_flag": {
        "black": "黑名单|黑|black|blacklist|black list|fraud|欺诈|blocked",
        "red": "红名单|红|vip|red|red list|protect|重要客户|大客户",
    },
    "channel": {
        "outbound": "外呼|outbound|out bound|outcall|telemarketing|tm",
        "app": "app|掌上营业厅|手机营业厅|客户端|mobile app",
        "chat": "在线|在线客服|微信|网聊|chat|webchat|web chat|online|wechat|im|live chat",
        "voice": "热线|语音|10086|电话|人工|hotline|voice|ivr|phone|call|tel|call centre|call center",
        "store": "营业厅|门店|实体|柜台|store|shop|retail|branch|walk in",
        "other": "其他|其它|other|others|misc",
    },
    "group": {
        "control": "control|holdout|hold out|hold|对照|对照组|控制组",
        "treated": "treated|treatment|test|target|call|called|干预|实验组|外呼",
    },
    "offer": {
        "none": "none|no offer|nothing|无|无优惠|不赠送",
        "data_bonus": "data|data bonus|bonus data|gb|流量|流量包",
        "device": "device|handset|phone|terminal|终端|手机|购机",
        "discount": "discount|rebate|price cut|折扣|优惠|降价|减免",
    },
    "outcome": {
        "no_answer": "no answer|noanswer|unreachable|not reached|busy|无人接听|未接通|未接|关机",
        "declined": "declined|decline|refused|refuse|reject|rejected|拒绝|不同意",
        "accepted": "accepted|accept|agree|agreed|success|成功|接受|同意",
    },
    "reason": {
        "complaint": "投诉|complaint|complain|cmpl|grievance",
        "cancel_intent": "销户|携号转网|携转|离网|注销|cancel|cancellation|churn|terminate|termination|port out",
        "retention_call": "挽留|回访|retention|retain|win back|winback",
        "plan_change": "套餐变更|变更套餐|改套餐|换套餐|plan change|plan chg|change plan|upgrade|downgrade",
        "billing": "账单|话费|扣费|计费|缴费|billing|bill|invoice|charge|payment",
        "fault": "故障|报修|信号|fault|tech|technical|outage|repair|network|signal",
        "inquiry": "咨询|查询|inquiry|enquiry|enq|info|question|general|query",
        "other": "其他|其它|other|others|misc",
    },
}
# Short words exports use for longer ones (after plurals are dropped).
ALIASES = {"dt": "date", "amt": "amount", "no": "number", "num": "number", "nbr": "number", "yr": "year"}
ALIASES |= {"qty": "count", "min": "minute", "sec": "second", "cust": "customer", "sub": "subscriber"}
ALIASES |= {"payment": "pay", "paid": "pay", "tel": "phone"}
# Warehouse column abbreviations (PROD_NAME, SVC_NUM, CLOSE_RSN, CHNL, ACCT_MONTH, START_TS)
ALIASES |= {"prod": "product", "svc": "service", "srv": "service", "rsn": "reason", "chnl": "channel", "ch": "channel"}
ALIASES |= {"camp": "campaign", "grp": "group", "cmpgn": "campaign"}
ALIASES |= {"acct": "account", "ts": "time", "tm": "time", "stmt": "statement", "cnt": "count", "mon": "month"}


def unaccented(text: str) -> str:
    """Return text without accents (Código -> Codigo, Nº -> No); Chinese and other scripts stay as they are."""
    decomposed = unicodedata.normalize("NFKD", text)
    return unicodedata.normalize("NFC", "".join(c for c in decomposed if not unicodedata.combining(c)))


def name_tokens(name: str) -> tuple[str, ...]:
    """Return a name's words, lower case, singular, accents dropped, short forms spelled out
    (`USER_IDs` -> ("user", "id"), `Código` -> ("codigo",))."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", unaccented(name.strip())).lower()
    words = re.findall(r"[a-z]+|[0-9]+|[^\W\d_a-z]+", spaced)
    singular = [w[:-1] if len(w) > 3 and w.endswith("s") and not w.endswith("ss") else w for w in words]
    return tuple(ALIASES.get(w, w) for w in singular)


def name_score(name: str, synonym: str) -> float:
    """Return how well an export's name matches a synonym: 3 the same, 2.x containing it, 0 not at all."""
    have, want = name_tokens(name), name_tokens(synonym)
    if not want:
        return 0.0
    if have == want or "".join(have) == "".join(want):
        return 3.0
    if re.search(r"[^\x00-\x7f]", synonym):
        return 2 + 0.1 * len("".join(want)) if "".join(want) in "".join(have) else 0.0
    if set(want) <= set(have):
        return 2 + 0.1 * len(want) - 0.01 * (len(have) - len(want))
    return 0.0


def best_name(column: str, name: str) -> tuple[float, str]:
    """Return the best score of an export's column name as tiercast's `column`, and the synonym that gave it."""
    synonyms = [column.replace("_", " "), *NAMES.get(column, "").split("|")]
    return max(((name_score(name, s), s) for s in synonyms if s), default=(0.0, ""))


def file_hint(table: str, file_name: str) -> str | None:
    """Return the word of a file's name that suggests `table` (None when none does)."""
    stem = file_name.rsplit(".", 1)[0]
    hints = FILE_HINTS[table].split("|")
    score, hint = max(((name_score(stem, hint), hint) for hint in hints), key=lambda found: found[0])
    return hint if score > 0 else None


def _normal_code(code: str) -> str:
    return re.sub(r"[\s_\-/.]+", " ", code.strip().lower()).strip()


def _contains(code: str, word: str) -> bool:
    before = r"(?<![a-z0-9])" if word[0].isascii() and word[0].isalnum() else ""
    after = r"(?![a-z0-9])" if word[-1].isascii() and word[-1].isalnum() else ""
    return re.search(before + re.escape(word) + after, code) is not None


def code_guess(column: str, code: str) -> tuple[str, str] | None:
    """Return (tiercast value, keyword) an export's code of closed column `column` suggests, or None."""
    normal = _normal_code(code)
    hits = [
        (len(word), -rank, value, word)
        for rank, (value, words) in enumerate(CODE_WORDS.get(column, {}).items())
        for word in words.split("|")
        if _contains(normal, word)
    ]
    if not hits:
        return None
    _, _, value, word = max(hits)
    return value, word


# Shapes a column's values may have for each contract type (anything else does not fit).
SHAPES_OF_TYPE = {
    "id": ("text", "number", "msisdn"),
    "string": ("text", "number", "msisdn", "bool"),
    "date": ("date", "month"),
    "datetime": ("datetime", "date"),
    "int64": ("number",),
    "float64": ("number",),
    "bool": ("bool",),
}


def fits(spec: ColumnSpec, found: Profile, named: bool = False) -> bool:
    """True if a column's values can be tiercast's `spec` (a column named for a date may hold an unknown format)."""
    if found.shape == "empty":
        return spec.nullable
    if spec.type == "id" and found.shape == "number" and not found.integral:
        return False
    if spec.closed_values is not None and found.codes is None:
        return False
    if named and spec.type in ("date", "datetime") and found.shape == "text":
        return True
    if spec.type in ("date", "datetime") and found.time_digits:  # epoch seconds / ms, YYYYMMDDHH
        return True
    return found.shape in SHAPES_OF_TYPE.get(spec.type, ())


def code_share(column: str, found: Profile, allowed: list[str]) -> float:
    """Return the share of a column's distinct codes that are tiercast's `column` values or guessed as one."""
    if not found.is_code or not found.codes:
        return 0.0
    known = [code for code, _ in found.codes if code in allowed or code_guess(column, code)]
    return len(known) / len(found.codes)


# What a required column's values look like, to find it by values when no name fits.
VALUE_RULES: dict[str, tuple[str, str, bool | None]] = {  # column: (words, shape, has empty values)
    "msisdn": ("11-digit mobile numbers", "msisdn", None),
    "activation_date": ("dates, none empty", "date", False),
    "deactivation_date": ("dates, some empty", "date", True),
    "bill_month": ("billing months", "month", None),
    "due_date": ("dates, none empty", "date", False),
    "paid_date": ("dates, some empty", "date", True),
    "contact_time": ("date-times", "datetime", None),
    "amount": ("amounts", "number", None),
    "amount_paid": ("amounts", "number", None),
    "plan": ("names repeated across rows, none empty", "text", False),
    "campaign_date": ("dates, none empty", "date", False),
    "called_at": ("date-times, some empty", "datetime", True),
}


def matches_rule(column: str, found: Profile) -> bool:
    """True if a column's values look like tiercast's `column` (VALUE_RULES)."""
    _, shape, empty = VALUE_RULES[column]
    times = shape == "datetime" and found.time_digits  # epoch seconds: date-times; not amounts
    if (found.shape != shape and not times) or (shape == "number" and found.time_digits):
        return False
    if empty is not None and (found.nulls > 0) != empty:
        return False
    return column != "plan" or 1 < found.distinct < found.rows - found.nulls
