"""Synthetic parallel corpus of one-step arithmetic word problems in the 11 study languages.

The offline demo cannot download MGSM-style data, so it generates its own: every problem id
is the *same* situation (operation, operands, template, object, person) rendered natively in
each language, which is what a cross-lingual transfer study needs. Templates are data
(``TEMPLATES[lang][op]``), rendered by one function (:func:`_render`).

Placeholders available to templates (all languages get all of them):

* ``{name}``; ``{name:gen}`` / ``{name:dat}`` case forms (ru, bn, te);
  ``{name:MALE|FEMALE}`` picks a gendered word (ru past tense, te verbs, fr pronouns).
* ``{a}``, ``{b}``, ``{c}`` numbers; ``{b:ONE|FEW|MANY}`` Russian plural form for ``b``.
* ``{obj}`` bare object noun (plural / citation form; genitive plural in ru);
  ``{obj:KEY}`` extra per-language noun data (``cnt`` counter, ``q`` "how many", ...).
* ``{A}``, ``{B}`` the language's natural quantity phrase for ``a`` / ``b`` objects
  (e.g. "3 apples", "3个苹果", "แอปเปิล 3 ลูก", "matufaha 3"); ``{A_acc}`` its accusative (ru).
* ``{eq}`` the bare equation "a op b = c"; ``{EQ}`` / ``{EQ_acc}`` the quantity phrase whose
  number is that equation (noun agreement follows ``c``).

Numbers are always ASCII digits so answers, equations and rewards stay language-neutral.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

import polars as pl

from pscale.languages import STUDY_LANGUAGES

DEMO_DATASETS: tuple[str, ...] = ("demo_train", "demo_test", "demo_hard")

OPERATIONS: tuple[str, ...] = ("add", "sub", "mul")
OP_SYMBOLS: dict[str, str] = {"add": "+", "sub": "-", "mul": "*"}
N_TEMPLATES = 3
N_OBJECTS = 6
N_NAMES = 6

#: Gender of the person at each name index (same index = same person in every language).
NAME_GENDERS: tuple[str, ...] = ("m", "f", "m", "f", "m", "f")

# --------------------------------------------------------------------------------------
# People: the same index is the "same" person, localised. Extra keys are case forms.
# --------------------------------------------------------------------------------------
NAMES: dict[str, list[dict[str, str]]] = {
    "en": [{"nom": n} for n in ("Tom", "Anna", "Jack", "Emma", "Ben", "Lucy")],
    "es": [{"nom": n} for n in ("Pablo", "Lucía", "Diego", "Carmen", "Javier", "Sofía")],
    "fr": [{"nom": n} for n in ("Pierre", "Camille", "Louis", "Chloé", "Hugo", "Léa")],
    "de": [{"nom": n} for n in ("Lukas", "Hannah", "Felix", "Lena", "Jonas", "Marie")],
    "ru": [
        {"nom": "Иван", "gen": "Ивана", "dat": "Ивану"},
        {"nom": "Маша", "gen": "Маши", "dat": "Маше"},
        {"nom": "Дима", "gen": "Димы", "dat": "Диме"},
        {"nom": "Оля", "gen": "Оли", "dat": "Оле"},
        {"nom": "Петя", "gen": "Пети", "dat": "Пете"},
        {"nom": "Аня", "gen": "Ани", "dat": "Ане"},
    ],
    "zh": [{"nom": n} for n in ("小明", "小红", "小刚", "小丽", "小军", "小芳")],
    "ja": [{"nom": n} for n in ("太郎", "花子", "健太", "さくら", "大輔", "結衣")],
    "th": [{"nom": n} for n in ("สมชาย", "มาลี", "วิชัย", "สุดา", "ประเสริฐ", "นภา")],
    "sw": [{"nom": n} for n in ("Juma", "Amina", "Baraka", "Neema", "Hamisi", "Zawadi")],
    "bn": [
        {"nom": "রহিম", "gen": "রহিমের"},
        {"nom": "সীমা", "gen": "সীমার"},
        {"nom": "রাজু", "gen": "রাজুর"},
        {"nom": "মিতা", "gen": "মিতার"},
        {"nom": "অমিত", "gen": "অমিতের"},
        {"nom": "রিয়া", "gen": "রিয়ার"},
    ],
    "te": [
        {"nom": "రాము", "dat": "రాముకు"},
        {"nom": "సీత", "dat": "సీతకు"},
        {"nom": "రవి", "dat": "రవికి"},
        {"nom": "లక్ష్మి", "dat": "లక్ష్మికి"},
        {"nom": "కృష్ణ", "dat": "కృష్ణకు"},
        {"nom": "గీత", "dat": "గీతకు"},
    ],
}

# --------------------------------------------------------------------------------------
# Objects, in this order: apples, books, pencils, marbles, cookies, flowers.
# "pl" is the form used after numbers / in "how many"; other keys are per-language extras:
# cnt = counter/classifier (zh, ja, th), q = agreeing "how many" (es, sw),
# forms = Russian (1, 2-4, 5+, accusative of 1), nom_pl = Russian nominative plural,
# acc = Telugu accusative plural.
# --------------------------------------------------------------------------------------
OBJECTS: dict[str, list[dict[str, Any]]] = {
    "en": [{"pl": w} for w in ("apples", "books", "pencils", "marbles", "cookies", "flowers")],
    "es": [
        {"pl": "manzanas", "q": "Cuántas"},
        {"pl": "libros", "q": "Cuántos"},
        {"pl": "lápices", "q": "Cuántos"},
        {"pl": "canicas", "q": "Cuántas"},
        {"pl": "galletas", "q": "Cuántas"},
        {"pl": "flores", "q": "Cuántas"},
    ],
    "fr": [{"pl": w} for w in ("pommes", "livres", "crayons", "billes", "biscuits", "fleurs")],
    "de": [{"pl": w} for w in ("Äpfel", "Bücher", "Bleistifte", "Murmeln", "Kekse", "Blumen")],
    "ru": [
        {"forms": ("яблоко", "яблока", "яблок", "яблоко"), "nom_pl": "яблоки"},
        {"forms": ("книга", "книги", "книг", "книгу"), "nom_pl": "книги"},
        {"forms": ("карандаш", "карандаша", "карандашей", "карандаш"), "nom_pl": "карандаши"},
        {"forms": ("шарик", "шарика", "шариков", "шарик"), "nom_pl": "шарики"},
        {"forms": ("печенье", "печенья", "печений", "печенье"), "nom_pl": "печенье"},
        {"forms": ("цветок", "цветка", "цветов", "цветок"), "nom_pl": "цветы"},
    ],
    "zh": [
        {"pl": "苹果", "cnt": "个"},
        {"pl": "书", "cnt": "本"},
        {"pl": "铅笔", "cnt": "支"},
        {"pl": "弹珠", "cnt": "颗"},
        {"pl": "饼干", "cnt": "块"},
        {"pl": "花", "cnt": "朵"},
    ],
    "ja": [
        {"pl": "りんご", "cnt": "個"},
        {"pl": "本", "cnt": "冊"},
        {"pl": "えんぴつ", "cnt": "本"},
        {"pl": "ビー玉", "cnt": "個"},
        {"pl": "クッキー", "cnt": "枚"},
        {"pl": "花", "cnt": "本"},
    ],
    "th": [
        {"pl": "แอปเปิล", "cnt": "ลูก"},
        {"pl": "หนังสือ", "cnt": "เล่ม"},
        {"pl": "ดินสอ", "cnt": "แท่ง"},
        {"pl": "ลูกแก้ว", "cnt": "ลูก"},
        {"pl": "คุกกี้", "cnt": "ชิ้น"},
        {"pl": "ดอกไม้", "cnt": "ดอก"},
    ],
    "sw": [
        {"pl": "matufaha", "q": "mangapi"},
        {"pl": "vitabu", "q": "vingapi"},
        {"pl": "penseli", "q": "ngapi"},
        {"pl": "gololi", "q": "ngapi"},
        {"pl": "biskuti", "q": "ngapi"},
        {"pl": "maua", "q": "mangapi"},
    ],
    "bn": [{"pl": w} for w in ("আপেল", "বই", "পেনসিল", "মার্বেল", "বিস্কুট", "ফুল")],
    "te": [
        {"pl": "ఆపిల్ పండ్లు", "acc": "ఆపిల్ పండ్లను"},
        {"pl": "పుస్తకాలు", "acc": "పుస్తకాలను"},
        {"pl": "పెన్సిళ్లు", "acc": "పెన్సిళ్లను"},
        {"pl": "గోళీలు", "acc": "గోళీలను"},
        {"pl": "బిస్కెట్లు", "acc": "బిస్కెట్లను"},
        {"pl": "పువ్వులు", "acc": "పువ్వులను"},
    ],
}

# --------------------------------------------------------------------------------------
# Templates: TEMPLATES[lang][op][k] = (question, solution sentence). Index k is the same
# situation in every language:
#   add: 0 has a, buys b more | 1 a on the table, puts b more | 2 collects a morning, b afternoon
#   sub: 0 has a, gives b to a friend | 1 a in a basket, takes b out | 2 wants a, already has b
#   mul: 0 b boxes of a each | 1 buys b bags of a each | 2 b rows of a each
# --------------------------------------------------------------------------------------
Template = tuple[str, str]

TEMPLATES: dict[str, dict[str, tuple[Template, ...]]] = {
    "en": {
        "add": (
            (
                "{name} has {A}. {name} buys {b} more {obj}. "
                "How many {obj} does {name} have now?",
                "After the purchase, {name} has {EQ} now.",
            ),
            (
                "There are {A} on the table. {name} puts {b} more {obj} on the table. "
                "How many {obj} are on the table now?",
                "Now there are {EQ} on the table.",
            ),
            (
                "{name} collected {A} in the morning and {B} in the afternoon. "
                "How many {obj} did {name} collect in total?",
                "In total, {name} collected {EQ} during the day.",
            ),
        ),
        "sub": (
            (
                "{name} has {A}. {name} gives {B} to a friend. "
                "How many {obj} does {name} have left?",
                "After giving some to a friend, {name} has {EQ} left.",
            ),
            (
                "There are {A} in a basket. {name} takes {B} out of the basket. "
                "How many {obj} are left in the basket?",
                "There are {EQ} left in the basket.",
            ),
            (
                "{name} wants to collect {A} and already has {B}. "
                "How many more {obj} does {name} need?",
                "{name} still needs to find {EQ}.",
            ),
        ),
        "mul": (
            (
                "Each box holds {A}. {name} has {b} boxes. "
                "How many {obj} does {name} have in total?",
                "With all the boxes together, {name} has {EQ}.",
            ),
            (
                "{name} buys {b} bags, and each bag contains {A}. "
                "How many {obj} does {name} buy?",
                "With all the bags, {name} buys {EQ}.",
            ),
            (
                "{name} arranges the {obj} in {b} rows with {A} in each row. "
                "How many {obj} are there in total?",
                "Together the rows have {EQ}.",
            ),
        ),
    },
    "es": {
        "add": (
            (
                "{name} tiene {A}. {name} compra {b} {obj} más. "
                "¿{obj:q} {obj} tiene {name} ahora?",
                "Después de la compra, {name} tiene ahora {EQ}.",
            ),
            (
                "Hay {A} sobre la mesa. {name} pone {b} {obj} más sobre la mesa. "
                "¿{obj:q} {obj} hay ahora sobre la mesa?",
                "Ahora hay {EQ} sobre la mesa.",
            ),
            (
                "{name} recogió {A} por la mañana y {B} por la tarde. "
                "¿{obj:q} {obj} recogió {name} en total?",
                "En total, {name} recogió {EQ} durante el día.",
            ),
        ),
        "sub": (
            (
                "{name} tiene {A}. {name} le da {B} a un amigo. "
                "¿{obj:q} {obj} le quedan a {name}?",
                "Después de compartir con su amigo, a {name} le quedan {EQ}.",
            ),
            (
                "Hay {A} en una cesta. {name} saca {B} de la cesta. "
                "¿{obj:q} {obj} quedan en la cesta?",
                "En la cesta quedan todavía {EQ}.",
            ),
            (
                "{name} quiere reunir {A} y ya tiene {B}. "
                "¿{obj:q} {obj} más necesita {name}?",
                "A {name} todavía le faltan {EQ}.",
            ),
        ),
        "mul": (
            (
                "En cada caja caben {A}. {name} tiene {b} cajas. "
                "¿{obj:q} {obj} tiene {name} en total?",
                "Con todas las cajas juntas, {name} tiene {EQ}.",
            ),
            (
                "{name} compra {b} bolsas y cada bolsa contiene {A}. "
                "¿{obj:q} {obj} compra {name}?",
                "Con todas las bolsas, {name} compra {EQ}.",
            ),
            (
                "{name} forma {b} filas con {A} en cada fila. "
                "¿{obj:q} {obj} hay en total?",
                "Entre todas las filas hay {EQ}.",
            ),
        ),
    },
    "fr": {
        "add": (
            (
                "{name} a {A}. {name} achète encore {B}. "
                "Combien de {obj} {name} a-t-{name:il|elle} maintenant ?",
                "Après cet achat, {name} a maintenant {EQ}.",
            ),
            (
                "Il y a {A} sur la table. {name} pose encore {B} sur la table. "
                "Combien de {obj} y a-t-il maintenant sur la table ?",
                "Il y a maintenant {EQ} sur la table.",
            ),
            (
                "{name} ramasse {A} le matin et {B} l'après-midi. "
                "Combien de {obj} {name} ramasse-t-{name:il|elle} en tout ?",
                "En tout, {name} ramasse {EQ} dans la journée.",
            ),
        ),
        "sub": (
            (
                "{name} a {A}. {name} donne {B} à un ami. "
                "Combien de {obj} reste-t-il à {name} ?",
                "Après ce cadeau à son ami, il reste {EQ} à {name}.",
            ),
            (
                "Il y a {A} dans un panier. {name} retire {B} du panier. "
                "Combien de {obj} reste-t-il dans le panier ?",
                "Il reste encore {EQ} dans le panier.",
            ),
            (
                "{name} veut réunir {A} et en a déjà {b}. "
                "Combien de {obj} manque-t-il encore à {name} ?",
                "Il manque encore {EQ} à {name}.",
            ),
        ),
        "mul": (
            (
                "Chaque boîte contient {A}. {name} a {b} boîtes. "
                "Combien de {obj} {name} a-t-{name:il|elle} en tout ?",
                "Avec toutes ses boîtes, {name} a {EQ}.",
            ),
            (
                "{name} achète {b} sacs, et chaque sac contient {A}. "
                "Combien de {obj} {name} achète-t-{name:il|elle} ?",
                "Avec tous ces sacs, {name} achète {EQ}.",
            ),
            (
                "{name} forme {b} rangées avec {A} dans chaque rangée. "
                "Combien de {obj} y a-t-il en tout ?",
                "Dans toutes les rangées, il y a {EQ}.",
            ),
        ),
    },
    "de": {
        "add": (
            (
                "{name} hat {A}. {name} kauft noch {B} dazu. "
                "Wie viele {obj} hat {name} jetzt?",
                "Nach dem Einkauf hat {name} jetzt {EQ}.",
            ),
            (
                "Auf dem Tisch liegen {A}. {name} legt noch {B} auf den Tisch. "
                "Wie viele {obj} liegen jetzt auf dem Tisch?",
                "Jetzt liegen {EQ} auf dem Tisch.",
            ),
            (
                "{name} sammelt am Morgen {A} und am Nachmittag {B}. "
                "Wie viele {obj} sammelt {name} insgesamt?",
                "Insgesamt sammelt {name} an diesem Tag {EQ}.",
            ),
        ),
        "sub": (
            (
                "{name} hat {A}. {name} schenkt einem Freund {B}. "
                "Wie viele {obj} hat {name} noch?",
                "Nach dem Geschenk hat {name} noch {EQ}.",
            ),
            (
                "In einem Korb liegen {A}. {name} nimmt {B} aus dem Korb. "
                "Wie viele {obj} sind noch im Korb?",
                "Im Korb sind jetzt noch {EQ}.",
            ),
            (
                "{name} möchte {A} sammeln und hat schon {B}. "
                "Wie viele {obj} braucht {name} noch?",
                "{name} braucht also noch {EQ}.",
            ),
        ),
        "mul": (
            (
                "In jeder Schachtel sind {A}. {name} hat {b} Schachteln. "
                "Wie viele {obj} hat {name} insgesamt?",
                "In allen Schachteln zusammen hat {name} {EQ}.",
            ),
            (
                "{name} kauft {b} Tüten, und in jeder Tüte sind {A}. "
                "Wie viele {obj} kauft {name}?",
                "Mit allen Tüten kauft {name} insgesamt {EQ}.",
            ),
            (
                "{name} legt die {obj} in {b} Reihen, und in jeder Reihe liegen {A}. "
                "Wie viele {obj} sind das insgesamt?",
                "In allen Reihen liegen zusammen {EQ}.",
            ),
        ),
    },
    "ru": {
        "add": (
            (
                "У {name:gen} есть {A}. {name} покупает ещё {B}. "
                "Сколько {obj} теперь у {name:gen}?",
                "После покупки у {name:gen} теперь {EQ}.",
            ),
            (
                "На столе {A}. {name} кладёт на стол ещё {B}. "
                "Сколько {obj} теперь на столе?",
                "Теперь на столе уже {EQ}.",
            ),
            (
                "Утром {name} собрал{name:|а} {A_acc}, а днём ещё {B_acc}. "
                "Сколько всего {obj} собрал{name:|а} {name}?",
                "Всего за день {name} собрал{name:|а} {EQ_acc}.",
            ),
        ),
        "sub": (
            (
                "У {name:gen} есть {A}. {name} отдаёт другу {B_acc}. "
                "Сколько {obj} осталось у {name:gen}?",
                "После подарка другу у {name:gen} теперь {EQ}.",
            ),
            (
                "В корзине {A}. {name} достаёт из корзины {B_acc}. "
                "Сколько {obj} осталось в корзине?",
                "В корзине теперь только {EQ}.",
            ),
            (
                "{name} хочет собрать {A_acc}, а у {name:gen} уже есть {B}. "
                "Сколько ещё {obj} нужно {name:dat}?",
                "{name:dat} осталось собрать ещё {EQ_acc}.",
            ),
        ),
        "mul": (
            (
                "В каждой коробке {A}. У {name:gen} {b} {b:коробка|коробки|коробок}. "
                "Сколько всего {obj} у {name:gen}?",
                "Во всех коробках у {name:gen} вместе {EQ}.",
            ),
            (
                "{name} покупает {b} {b:пакет|пакета|пакетов}, и в каждом пакете {A}. "
                "Сколько {obj} покупает {name}?",
                "Во всех пакетах {name} покупает {EQ_acc}.",
            ),
            (
                "{name} раскладывает {obj:nom_pl} в {b} {b:ряд|ряда|рядов}, "
                "и в каждом ряду {A}. Сколько всего {obj} в рядах?",
                "Во всех рядах вместе {EQ}.",
            ),
        ),
    },
    "zh": {
        "add": (
            (
                "{name}有{A}。{name}又买了{B}。{name}现在有多少{obj:cnt}{obj}？",
                "买完以后，{name}现在一共有{EQ}。",
            ),
            (
                "桌子上有{A}。{name}又往桌子上放了{B}。现在桌子上有多少{obj:cnt}{obj}？",
                "现在桌子上一共有{EQ}。",
            ),
            (
                "{name}上午收集了{A}，下午又收集了{B}。{name}一共收集了多少{obj:cnt}{obj}？",
                "这一天{name}一共收集了{EQ}。",
            ),
        ),
        "sub": (
            (
                "{name}有{A}。{name}送给朋友{B}。{name}还剩多少{obj:cnt}{obj}？",
                "送给朋友以后，{name}还剩{EQ}。",
            ),
            (
                "篮子里有{A}。{name}从篮子里拿走了{B}。篮子里还剩多少{obj:cnt}{obj}？",
                "拿走以后，篮子里还剩{EQ}。",
            ),
            (
                "{name}想收集{A}，已经有了{B}。{name}还需要多少{obj:cnt}{obj}？",
                "{name}还需要再收集{EQ}。",
            ),
        ),
        "mul": (
            (
                "每个盒子里装着{A}。{name}有{b}个盒子。{name}一共有多少{obj:cnt}{obj}？",
                "所有盒子加起来，{name}一共有{EQ}。",
            ),
            (
                "{name}买了{b}袋{obj}，每袋有{A}。{name}一共买了多少{obj:cnt}{obj}？",
                "所有袋子加起来，{name}一共买了{EQ}。",
            ),
            (
                "{name}把{obj}摆成{b}排，每排有{A}。一共有多少{obj:cnt}{obj}？",
                "所有的排加起来，一共有{EQ}。",
            ),
        ),
    },
    "ja": {
        "add": (
            (
                "{name}は{obj}を{a}{obj:cnt}持っています。{name}は{obj}をさらに{b}{obj:cnt}"
                "買いました。{name}は今、{obj}を何{obj:cnt}持っていますか？",
                "買ったあと、{name}は{obj}を{EQ}持っています。",
            ),
            (
                "テーブルの上に{obj}が{a}{obj:cnt}あります。{name}はテーブルの上に{obj}を"
                "さらに{b}{obj:cnt}置きました。今、テーブルの上に{obj}は何{obj:cnt}ありますか？",
                "今、テーブルの上には{obj}が{EQ}あります。",
            ),
            (
                "{name}は朝に{obj}を{a}{obj:cnt}、午後に{b}{obj:cnt}集めました。"
                "{name}は{obj}を全部で何{obj:cnt}集めましたか？",
                "{name}は一日で{obj}を全部で{EQ}集めました。",
            ),
        ),
        "sub": (
            (
                "{name}は{obj}を{a}{obj:cnt}持っています。{name}は友だちに{obj}を"
                "{b}{obj:cnt}あげました。{name}の{obj}は何{obj:cnt}残っていますか？",
                "友だちにあげたあと、{name}の{obj}は{EQ}残っています。",
            ),
            (
                "かごの中に{obj}が{a}{obj:cnt}入っています。{name}はかごから{obj}を"
                "{b}{obj:cnt}取り出しました。かごの中に{obj}は何{obj:cnt}残っていますか？",
                "取り出したあと、かごの中には{obj}が{EQ}残っています。",
            ),
            (
                "{name}は{obj}を{a}{obj:cnt}集めたいと思っています。もう{b}{obj:cnt}"
                "持っています。{name}には{obj}があと何{obj:cnt}必要ですか？",
                "{name}には{obj}があと{EQ}必要です。",
            ),
        ),
        "mul": (
            (
                "どの箱にも{obj}が{a}{obj:cnt}入っています。{name}は箱を{b}個持っています。"
                "{name}は{obj}を全部で何{obj:cnt}持っていますか？",
                "{name}の箱には、{obj}が全部で{EQ}入っています。",
            ),
            (
                "{name}は袋入りの{obj}を{b}袋買いました。どの袋にも{obj}が{a}{obj:cnt}"
                "入っています。{name}は{obj}を全部で何{obj:cnt}買いましたか？",
                "{name}は袋の{obj}を全部で{EQ}買いました。",
            ),
            (
                "{name}は{obj}を{b}列に並べました。どの列にも{obj}が{a}{obj:cnt}あります。"
                "{obj}は全部で何{obj:cnt}ありますか？",
                "すべての列を合わせると、{obj}は全部で{EQ}あります。",
            ),
        ),
    },
    "th": {
        "add": (
            (
                "{name}มี{A} {name}ซื้อ{obj}เพิ่มอีก {b} {obj:cnt} "
                "ตอนนี้{name}มี{obj}กี่{obj:cnt}",
                "หลังจากซื้อเพิ่มแล้ว ตอนนี้{name}มี{EQ}",
            ),
            (
                "บนโต๊ะมี{A} {name}วาง{obj}บนโต๊ะเพิ่มอีก {b} {obj:cnt} "
                "ตอนนี้บนโต๊ะมี{obj}กี่{obj:cnt}",
                "ตอนนี้บนโต๊ะมี{obj}ทั้งหมด {eq} {obj:cnt}",
            ),
            (
                "ตอนเช้า{name}เก็บ{obj}ได้ {a} {obj:cnt} และตอนบ่ายเก็บได้อีก {b} {obj:cnt} "
                "{name}เก็บ{obj}ได้ทั้งหมดกี่{obj:cnt}",
                "ในวันนั้น{name}เก็บ{obj}ได้ทั้งหมด {eq} {obj:cnt}",
            ),
        ),
        "sub": (
            (
                "{name}มี{A} {name}แบ่ง{obj}ให้เพื่อน {b} {obj:cnt} "
                "{name}เหลือ{obj}กี่{obj:cnt}",
                "หลังจากให้เพื่อนไปแล้ว {name}เหลือ{EQ}",
            ),
            (
                "ในตะกร้ามี{A} {name}หยิบ{obj}ออกจากตะกร้า {b} {obj:cnt} "
                "ในตะกร้าเหลือ{obj}กี่{obj:cnt}",
                "หลังจากหยิบออกไปแล้ว ในตะกร้าเหลือ{EQ}",
            ),
            (
                "{name}อยากสะสม{A} ตอนนี้{name}มีอยู่แล้ว {b} {obj:cnt} "
                "{name}ต้องหา{obj}เพิ่มอีกกี่{obj:cnt}",
                "{name}ต้องหา{obj}เพิ่มอีก {eq} {obj:cnt}",
            ),
        ),
        "mul": (
            (
                "กล่องแต่ละใบมี{A} {name}มีกล่อง {b} ใบ "
                "{name}มี{obj}ทั้งหมดกี่{obj:cnt}",
                "เมื่อรวมทุกกล่อง {name}มี{obj}ทั้งหมด {eq} {obj:cnt}",
            ),
            (
                "{name}ซื้อ{obj} {b} ถุง แต่ละถุงมี{A} "
                "{name}ซื้อ{obj}ทั้งหมดกี่{obj:cnt}",
                "เมื่อรวมทุกถุง {name}ซื้อ{obj}ทั้งหมด {eq} {obj:cnt}",
            ),
            (
                "{name}จัด{obj}เป็น {b} แถว แต่ละแถวมี{A} "
                "มี{obj}ทั้งหมดกี่{obj:cnt}",
                "เมื่อรวมทุกแถว มี{obj}ทั้งหมด {eq} {obj:cnt}",
            ),
        ),
    },
    "sw": {
        "add": (
            (
                "{name} ana {A}. {name} ananunua {B} zaidi. "
                "Sasa {name} ana {obj} {obj:q}?",
                "Baada ya kununua, sasa {name} ana {EQ}.",
            ),
            (
                "Kuna {A} mezani. {name} anaweka {B} zaidi mezani. "
                "Sasa kuna {obj} {obj:q} mezani?",
                "Sasa kuna {EQ} mezani.",
            ),
            (
                "Asubuhi {name} alikusanya {A}, na mchana alikusanya {B}. "
                "Kwa jumla, {name} alikusanya {obj} {obj:q}?",
                "Kwa jumla, {name} alikusanya {EQ} siku hiyo.",
            ),
        ),
        "sub": (
            (
                "{name} ana {A}. {name} anampa rafiki yake {B}. "
                "{name} amebaki na {obj} {obj:q}?",
                "Baada ya kumpa rafiki yake, {name} amebaki na {EQ}.",
            ),
            (
                "Kikapu kina {A}. {name} anatoa {B} kutoka kwenye kikapu. "
                "Sasa kikapu kina {obj} {obj:q}?",
                "Baada ya hapo, sasa kikapu kina {EQ}.",
            ),
            (
                "{name} anataka kukusanya {A}, na tayari ana {B}. "
                "{name} anahitaji {obj} {obj:q} zaidi?",
                "{name} bado anahitaji {EQ} zaidi.",
            ),
        ),
        "mul": (
            (
                "Kila sanduku lina {A}. {name} ana masanduku {b}. "
                "Kwa jumla, {name} ana {obj} {obj:q}?",
                "Katika masanduku yote, {name} ana {EQ}.",
            ),
            (
                "{name} ananunua mifuko {b}, na kila mfuko una {A}. "
                "{name} ananunua {obj} {obj:q}?",
                "Katika mifuko yote, {name} ananunua {EQ}.",
            ),
            (
                "{name} anapanga {obj} katika safu {b}, na kila safu ina {A}. "
                "Kwa jumla kuna {obj} {obj:q}?",
                "Katika safu zote kuna {EQ}.",
            ),
        ),
    },
    "bn": {
        "add": (
            (
                "{name:gen} কাছে {A} আছে। {name} আরও {B} কেনে। "
                "এখন {name:gen} কাছে কয়টি {obj} আছে?",
                "কেনার পরে এখন {name:gen} কাছে {EQ} আছে।",
            ),
            (
                "টেবিলের উপর {A} আছে। {name} টেবিলের উপর আরও {B} রাখে। "
                "এখন টেবিলের উপর কয়টি {obj} আছে?",
                "এখন টেবিলের উপর মোট {EQ} আছে।",
            ),
            (
                "{name} সকালে {A} এবং বিকেলে {B} সংগ্রহ করেছে। "
                "{name} মোট কয়টি {obj} সংগ্রহ করেছে?",
                "সারা দিনে {name} মোট {EQ} সংগ্রহ করেছে।",
            ),
        ),
        "sub": (
            (
                "{name:gen} কাছে {A} আছে। {name} একজন বন্ধুকে {B} দেয়। "
                "এখন {name:gen} কাছে কয়টি {obj} বাকি আছে?",
                "বন্ধুকে দেওয়ার পরে {name:gen} কাছে {EQ} বাকি আছে।",
            ),
            (
                "একটি ঝুড়িতে {A} আছে। {name} ঝুড়ি থেকে {B} বের করে নেয়। "
                "ঝুড়িতে কয়টি {obj} বাকি আছে?",
                "বের করে নেওয়ার পরে ঝুড়িতে {EQ} বাকি আছে।",
            ),
            (
                "{name} {A} জমাতে চায় এবং তার কাছে ইতিমধ্যে {B} আছে। "
                "{name:gen} আর কয়টি {obj} লাগবে?",
                "{name:gen} এখনও আরও {EQ} লাগবে।",
            ),
        ),
        "mul": (
            (
                "প্রতিটি বাক্সে {A} আছে। {name:gen} কাছে {b}টি বাক্স আছে। "
                "{name:gen} কাছে মোট কয়টি {obj} আছে?",
                "সব বাক্স মিলিয়ে {name:gen} কাছে {EQ} আছে।",
            ),
            (
                "{name} {b}টি ব্যাগ কেনে, এবং প্রতিটি ব্যাগে {A} আছে। "
                "{name} মোট কয়টি {obj} কেনে?",
                "সব ব্যাগ মিলিয়ে {name} মোট {EQ} কেনে।",
            ),
            (
                "{name} {obj}গুলো {b}টি সারিতে সাজায়, এবং প্রতিটি সারিতে {A} থাকে। "
                "মোট কয়টি {obj} আছে?",
                "সব সারি মিলিয়ে মোট {EQ} আছে।",
            ),
        ),
    },
    "te": {
        "add": (
            (
                "{name} దగ్గర {A} ఉన్నాయి. {name} ఇంకా {B} {name:కొంటాడు|కొంటుంది}. "
                "ఇప్పుడు {name} దగ్గర ఎన్ని {obj} ఉన్నాయి?",
                "కొన్న తర్వాత ఇప్పుడు {name} దగ్గర {EQ} ఉన్నాయి.",
            ),
            (
                "బల్ల మీద {A} ఉన్నాయి. {name} బల్ల మీద ఇంకా {B} {name:పెడతాడు|పెడుతుంది}. "
                "ఇప్పుడు బల్ల మీద ఎన్ని {obj} ఉన్నాయి?",
                "ఇప్పుడు బల్ల మీద మొత్తం {EQ} ఉన్నాయి.",
            ),
            (
                "{name} ఉదయం {A}, మధ్యాహ్నం {B} {name:సేకరించాడు|సేకరించింది}. "
                "{name} మొత్తం ఎన్ని {obj} {name:సేకరించాడు|సేకరించింది}?",
                "ఆ రోజు {name} మొత్తం {EQ} {name:సేకరించాడు|సేకరించింది}.",
            ),
        ),
        "sub": (
            (
                "{name} దగ్గర {A} ఉన్నాయి. {name} తన స్నేహితుడికి {B} "
                "{name:ఇస్తాడు|ఇస్తుంది}. ఇప్పుడు {name} దగ్గర ఎన్ని {obj} మిగిలాయి?",
                "స్నేహితుడికి ఇచ్చిన తర్వాత {name} దగ్గర {EQ} మిగిలాయి.",
            ),
            (
                "ఒక బుట్టలో {A} ఉన్నాయి. {name} బుట్టలో నుంచి {B} "
                "{name:తీస్తాడు|తీస్తుంది}. బుట్టలో ఎన్ని {obj} మిగిలాయి?",
                "తీసిన తర్వాత బుట్టలో ఇప్పుడు {EQ} మిగిలాయి.",
            ),
            (
                "{name} {A} సేకరించాలని {name:అనుకుంటున్నాడు|అనుకుంటున్నది}. "
                "ఇప్పటికే {name} దగ్గర {B} ఉన్నాయి. {name:dat} ఇంకా ఎన్ని {obj} కావాలి?",
                "{name:dat} ఇంకా {EQ} కావాలి.",
            ),
        ),
        "mul": (
            (
                "ప్రతి పెట్టెలో {A} ఉన్నాయి. {name} దగ్గర {b} పెట్టెలు ఉన్నాయి. "
                "{name} దగ్గర మొత్తం ఎన్ని {obj} ఉన్నాయి?",
                "అన్ని పెట్టెల్లో కలిపి {name} దగ్గర {EQ} ఉన్నాయి.",
            ),
            (
                "{name} {b} సంచులు {name:కొంటాడు|కొంటుంది}, ప్రతి సంచిలో {A} ఉన్నాయి. "
                "{name} మొత్తం ఎన్ని {obj} {name:కొంటాడు|కొంటుంది}?",
                "అన్ని సంచుల్లో కలిపి {name} {EQ} {name:కొంటాడు|కొంటుంది}.",
            ),
            (
                "{name} {obj:acc} {b} వరుసల్లో {name:పేర్చాడు|పేర్చింది}, "
                "ప్రతి వరుసలో {A} ఉన్నాయి. మొత్తం ఎన్ని {obj} ఉన్నాయి?",
                "అన్ని వరుసల్లో కలిపి మొత్తం {EQ} ఉన్నాయి.",
            ),
        ),
    },
}


# --------------------------------------------------------------------------------------
# Grammar helpers
# --------------------------------------------------------------------------------------
def ru_plural_index(n: int) -> int:
    """Russian noun form after a number: 0 = 1/21/31.., 1 = 2-4/22-24.., 2 = 5+ and 11-14."""
    n10, n100 = n % 10, n % 100
    if n10 == 1 and n100 != 11:
        return 0
    if 2 <= n10 <= 4 and not 12 <= n100 <= 14:
        return 1
    return 2


class _Num(int):
    """An int whose format spec ``ONE|FEW|MANY`` picks the Russian noun form for it."""

    def __format__(self, spec: str) -> str:
        if "|" in spec:
            return spec.split("|")[ru_plural_index(int(self))]
        return str(int(self))


@dataclass(frozen=True)
class _Person:
    """A localised name; format spec selects a case form or a gendered alternative."""

    forms: dict[str, str]
    gender: str

    def __format__(self, spec: str) -> str:
        if "|" in spec:
            male, female = spec.split("|")
            return male if self.gender == "m" else female
        return self.forms[spec or "nom"]


@dataclass(frozen=True)
class _Object:
    """A localised object noun; ``{obj}`` is its plural, ``{obj:key}`` an extra form."""

    lang: str
    data: dict[str, Any]

    def __format__(self, spec: str) -> str:
        if spec:
            return str(self.data[spec])
        if self.lang == "ru":
            return self.data["forms"][2]  # genitive plural, as after "Сколько"
        return self.data["pl"]


def _quantity(lang: str, obj: dict[str, Any], n: int, number: str, case: str = "nom") -> str:
    """The natural 'n objects' phrase; ``number`` is the text shown for n (may be an equation)."""
    if lang == "ru":
        idx = ru_plural_index(n)
        word = obj["forms"][3] if case == "acc" and idx == 0 else obj["forms"][idx]
        return f"{number} {word}"
    if lang == "zh":
        return f"{number}{obj['cnt']}{obj['pl']}"
    if lang == "ja":
        return f"{number}{obj['cnt']}"  # the noun and its particle stay in the template
    if lang == "th":
        return f"{obj['pl']} {number} {obj['cnt']}"
    if lang == "sw":
        return f"{obj['pl']} {number}"
    if lang == "bn":
        return f"{number}টি {obj['pl']}"
    return f"{number} {obj['pl']}"


# --------------------------------------------------------------------------------------
# Problems and rendering
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Problem:
    """One language-independent problem; rendered identically in every language."""

    op: str
    a: int
    b: int
    template: int
    obj: int
    name: int

    @property
    def key(self) -> tuple[str, int, int, int, int]:
        """What must be unique across the whole corpus (the name is cosmetic)."""
        return (self.op, self.a, self.b, self.template, self.obj)

    @property
    def answer(self) -> int:
        if self.op == "add":
            return self.a + self.b
        if self.op == "sub":
            return self.a - self.b
        return self.a * self.b


def _render(problem: Problem, lang: str) -> tuple[str, str]:
    """Render (question, solution) for one problem in one language."""
    question_t, solution_t = TEMPLATES[lang][problem.op][problem.template]
    obj = OBJECTS[lang][problem.obj]
    a, b, c = problem.a, problem.b, problem.answer
    eq = f"{a} {OP_SYMBOLS[problem.op]} {b} = {c}"
    fields = {
        "name": _Person(NAMES[lang][problem.name], NAME_GENDERS[problem.name]),
        "a": _Num(a),
        "b": _Num(b),
        "c": _Num(c),
        "obj": _Object(lang, obj),
        "A": _quantity(lang, obj, a, str(a)),
        "B": _quantity(lang, obj, b, str(b)),
        "A_acc": _quantity(lang, obj, a, str(a), "acc"),
        "B_acc": _quantity(lang, obj, b, str(b), "acc"),
        "eq": eq,
        "EQ": _quantity(lang, obj, c, eq),
        "EQ_acc": _quantity(lang, obj, c, eq, "acc"),
    }
    question = question_t.format(**fields)
    sentence = solution_t.format(**fields)
    return question, f"<think>{sentence}</think>\n\\boxed{{{c}}}"


# --------------------------------------------------------------------------------------
# Sampling
# --------------------------------------------------------------------------------------
#: Operand ranges (inclusive) per difficulty and operation: (a range, b range).
_RANGES: dict[str, dict[str, tuple[tuple[int, int], tuple[int, int]]]] = {
    "easy": {"add": ((2, 9), (2, 9)), "sub": ((4, 12), (2, 9)), "mul": ((2, 5), (2, 5))},
    "hard": {"add": ((10, 25), (2, 9)), "sub": ((13, 25), (2, 9)), "mul": ((2, 5), (6, 9))},
}
#: Subtraction keeps the result >= 2 so every quantity in every language is a plural.
_MIN_SUB_RESULT = 2


def _capacity(level: str, op: str) -> int:
    """Number of distinct (a, b, template, object) combinations for an operation."""
    (alo, ahi), (blo, bhi) = _RANGES[level][op]
    if op == "sub":
        pairs = sum(
            1 for a in range(alo, ahi + 1) for b in range(blo, bhi + 1)
            if a - b >= _MIN_SUB_RESULT
        )
    else:
        pairs = (ahi - alo + 1) * (bhi - blo + 1)
    return pairs * N_TEMPLATES * N_OBJECTS


def _draw(
    rng: random.Random, level: str, n: int, seen: set[tuple[str, int, int, int, int]]
) -> list[Problem]:
    """Draw n problems with unseen keys; operations are balanced while capacity allows."""
    used = {op: sum(1 for k in seen if k[0] == op and _in_level(k, level)) for op in OPERATIONS}
    capacity = {op: _capacity(level, op) for op in OPERATIONS}
    problems: list[Problem] = []
    while len(problems) < n:
        open_ops = [op for op in OPERATIONS if used[op] < capacity[op]]
        if not open_ops:
            raise ValueError(f"cannot draw {n} distinct {level} problems")
        op = rng.choice(open_ops)
        (alo, ahi), (blo, bhi) = _RANGES[level][op]
        a, b = rng.randint(alo, ahi), rng.randint(blo, bhi)
        if op == "sub" and a - b < _MIN_SUB_RESULT:
            continue
        problem = Problem(
            op, a, b, rng.randrange(N_TEMPLATES), rng.randrange(N_OBJECTS), rng.randrange(N_NAMES)
        )
        if problem.key in seen:
            continue
        seen.add(problem.key)
        used[op] += 1
        problems.append(problem)
    return problems


def _in_level(key: tuple[str, int, int, int, int], level: str) -> bool:
    """Whether a key's operands fall in a level's ranges (levels overlap, e.g. 12 + 15)."""
    op, a, b = key[0], key[1], key[2]
    (alo, ahi), (blo, bhi) = _RANGES[level][op]
    return alo <= a <= ahi and blo <= b <= bhi and (op != "sub" or a - b >= _MIN_SUB_RESULT)


def _sample_problems(n_train: int, n_test: int, seed: int) -> dict[str, list[Problem]]:
    """Disjoint problem lists for the three demo datasets (one shared set of seen keys)."""
    if min(n_train, n_test) < 0:
        raise ValueError("dataset sizes must be non-negative")
    rng = random.Random(seed)
    seen: set[tuple[str, int, int, int, int]] = set()
    return {
        "demo_train": _draw(rng, "easy", n_train, seen),
        "demo_test": _draw(rng, "easy", n_test, seen),
        "demo_hard": _draw(rng, "hard", n_test, seen),
    }


def _to_frame(dataset: str, problems: list[Problem]) -> pl.DataFrame:
    """Long frame, one row per (id, language), languages in study order."""
    rows: dict[str, list[str]] = {k: [] for k in ("id", "lang", "question", "answer", "solution")}
    for i, problem in enumerate(problems):
        pid, answer = f"{dataset}-{i:05d}", str(problem.answer)
        for lang in STUDY_LANGUAGES:
            question, solution = _render(problem, lang)
            rows["id"].append(pid)
            rows["lang"].append(lang)
            rows["question"].append(question)
            rows["answer"].append(answer)
            rows["solution"].append(solution)
    return pl.DataFrame(rows, schema={k: pl.Utf8 for k in rows})


def make_demo_corpus(n_train: int, n_test: int, seed: int) -> dict[str, pl.DataFrame]:
    """Returns {dataset_name: long DataFrame} for the three DEMO_DATASETS."""
    problems = _sample_problems(n_train, n_test, seed)
    return {name: _to_frame(name, problems[name]) for name in DEMO_DATASETS}
