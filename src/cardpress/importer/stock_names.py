"""Anki's stock note types under the names Anki gives them in its other languages.

Anki names the note types of a new collection in the language of the user's Anki: a German
user's Basic is "Einfach", a French user's Cloze is "Texte à trous". A text export names each
row's note type so; the rows of these become cards of the kinds of the English names.
:data:`TRANSLATED_NAMES` is read from the ``anki`` package's own translations by
:func:`from_anki` (a test keeps the two the same; ``python -m cardpress.importer.stock_names``
prints the table again after an update of ``anki``). No name stands for two note types.
"""

# The names are Anki's translations, letter for letter (Cyrillic, full-width parentheses).
# ruff: noqa: RUF001

from __future__ import annotations

import weakref
from collections.abc import Mapping
from types import MappingProxyType

__all__ = ["TRANSLATED_NAMES", "from_anki"]

# Anki's languages whose translations this version of ``anki`` cannot read (its Persian
# bundle fails to parse, and says so on the terminal): their names fall back to English.
UNREADABLE = frozenset({"fa_IR"})

# A name in another language -> the English name of the stock note type.
TRANSLATED_NAMES: Mapping[str, str] = MappingProxyType(
    {
    'Alap': 'Basic',
    'Alap (egyik vagy mindkét irányban)': 'Basic (optional reversed card)',
    'Alap (mindkét irányban)': 'Basic (and reversed card)',
    'Alap (írd be a választ)': 'Basic (type in the answer)',
    'Aukkotehtävä': 'Cloze',
    'Bas (och omvänt kort)': 'Basic (and reversed card)',
    'Bas (skriv in svaret)': 'Basic (type in the answer)',
    'Bas (valbart omvänt kort)': 'Basic (optional reversed card)',
    'Basic (πληκτρολόγηση απάντησης)': 'Basic (type in the answer)',
    'Basies': 'Basic',
    'Basiese (en omgekeerde kaart)': 'Basic (and reversed card)',
    'Basiese (opsioneel omgekeerde kaart)': 'Basic (optional reversed card)',
    'Basilare': 'Basic',
    'Basilare (carta inversa opzionale)': 'Basic (optional reversed card)',
    'Basilare (digita la risposta)': 'Basic (type in the answer)',
    'Basilare (e carta inversa)': 'Basic (and reversed card)',
    'Basique': 'Basic',
    'Basique (carte inversée optionnelle)': 'Basic (optional reversed card)',
    'Basique (saisissez la réponse)': 'Basic (type in the answer)',
    'Basis': 'Basic',
    'Basis (en omgekeerde kaart)': 'Basic (and reversed card)',
    'Basis (omgekeerde kaart optioneel)': 'Basic (optional reversed card)',
    'Basisch (typ het antwoord in)': 'Basic (type in the answer)',
    'Baza': 'Basic',
    'Baza (en ambaŭ direktoj)': 'Basic (and reversed card)',
    'Baza (en unu aŭ ambaŭ direktoj)': 'Basic (optional reversed card)',
    'Baza (enigi la respondon)': 'Basic (type in the answer)',
    'Básica': 'Basic',
    'Básico': 'Basic',
    'Boşluklu': 'Cloze',
    'Boʻshliqni toʻldirish': 'Cloze',
    'Bunúsach': 'Basic',
    'Bunúsach (clóscríobh an freagra)': 'Basic (type in the answer)',
    'Bunúsach (le malairt an chárta mar rogha)': 'Basic (optional reversed card)',
    'Bunúsach (le malairt an chárta)': 'Basic (and reversed card)',
    'Bàsica': 'Basic',
    'Bàsica (escriure la resposta)': 'Basic (type in the answer)',
    'Bàsica (i targeta inversa)': 'Basic (and reversed card)',
    'Bàsica (targeta inversa opcional)': 'Basic (optional reversed card)',
    'Básica (e tarxeta invertida)': 'Basic (and reversed card)',
    'Básica (escribe a resposta)': 'Basic (type in the answer)',
    'Básica (tarxeta invertida opcional)': 'Basic (optional reversed card)',
    'Básico': 'Basic',
    'Básico (cartão invertido opcional)': 'Basic (optional reversed card)',
    'Básico (digite a resposta)': 'Basic (type in the answer)',
    'Básico (e cartão invertido)': 'Basic (and reversed card)',
    'Básico (e ficha invertida)': 'Basic (and reversed card)',
    'Básico (ficha invertida opcional)': 'Basic (optional reversed card)',
    'Básico (tarjeta invertida opcional)': 'Basic (optional reversed card)',
    'Básico (teclear la respuesta)': 'Basic (type in the answer)',
    'Básico (y tarjeta invertida)': 'Basic (and reversed card)',
    'Cơ bản': 'Basic',
    'Cơ bản (nhập câu trả lời)': 'Basic (type in the answer)',
    'Cơ bản (thẻ ngược tùy chọn)': 'Basic (optional reversed card)',
    'Cơ bản (với thẻ ngược)': 'Basic (and reversed card)',
    'De bază': 'Basic',
    'De bază (opțional cu card întors)': 'Basic (optional reversed card)',
    'De bază (și cu card întors)': 'Basic (and reversed card)',
    'De bază(tastați răspunsul)': 'Basic (type in the answer)',
    'Doplňovačka': 'Cloze',
    'Einfach': 'Basic',
    'Einfach (Antwort eintippen)': 'Basic (type in the answer)',
    'Einfach (und die umgekehrte Richtung)': 'Basic (and reversed card)',
    'Einfach (und wahlweise die umgekehrte Richtung)': 'Basic (optional reversed card)',
    'Elementari': 'Basic',
    'Generalitats (convèrsa facultativa)': 'Basic (optional reversed card)',
    'Generalitats (dos senses)': 'Basic (and reversed card)',
    'Grundläggande': 'Basic',
    'Grundlæggende': 'Basic',
    'Grundlæggende (og kort baglæns)': 'Basic (and reversed card)',
    'Grundlæggende (skriv ind svaret)': 'Basic (type in the answer)',
    'Grundlæggende (valgfrit med kort  baglæns)': 'Basic (optional reversed card)',
    'Grunnleggende': 'Basic',
    'Généralités (deux sens)': 'Basic (and reversed card)',
    'Iomlánú': 'Cloze',
    'Lucktext': 'Cloze',
    'Luka': 'Cloze',
    'Lyukas szöveg': 'Cloze',
    'Lückentext': 'Cloze',
    'Nadopunjavanje teksta': 'Cloze',
    'Oco': 'Cloze',
    'Oddiy': 'Basic',
    'Oddiy (javobni kiritish)': 'Basic (type in the answer)',
    'Oddiy (va ixtiyoriy teskari karta)': 'Basic (optional reversed card)',
    'Oddiy (va teskari karta)': 'Basic (and reversed card)',
    'Oinarrizko (eta alderantzizko karta)': 'Basic (and reversed card)',
    'Oinarrizko( aukerako alderantzizko karta)': 'Basic (optional reversed card)',
    'Oinarrizkoa': 'Basic',
    'Omissão de Palavras': 'Cloze',
    'Osnovna': 'Basic',
    'Osnovna (i obratna kartica)': 'Basic (and reversed card)',
    'Osnovna (in izbirno obrnjena kartica)': 'Basic (optional reversed card)',
    'Osnovna (in obrnjena kartica)': 'Basic (and reversed card)',
    'Osnovna (obratna kartica po volji)': 'Basic (optional reversed card)',
    'Osnovna (upisivanje odgovora)': 'Basic (type in the answer)',
    'Osnovna (vnesi odgovor)': 'Basic (type in the answer)',
    'Perusmalli': 'Basic',
    'Perusmalli (ja käänteinen kortti)': 'Basic (and reversed card)',
    'Perusmalli (kirjoita vastaus)': 'Basic (type in the answer)',
    'Perusmalli (valinnainen käänteinen kortti)': 'Basic (optional reversed card)',
    'Podstawowy': 'Basic',
    'Podstawowy (wpisywanie odpowiedzi)': 'Basic (type in the answer)',
    'Podstawowy (z odwrotną kartą)': 'Basic (and reversed card)',
    'Podstawowy (z opcjonalną odwrotną kartą)': 'Basic (optional reversed card)',
    'Põhimudel': 'Basic',
    'Respuesta anidada': 'Cloze',
    'Temel': 'Basic',
    'Temel (seçimli ters kart)': 'Basic (optional reversed card)',
    'Temel (ve ters kart)': 'Basic (and reversed card)',
    'Test cu cuvinte lipsă': 'Cloze',
    'Text amb buits': 'Cloze',
    'Texte à trous': 'Cloze',
    'Truteksto': 'Cloze',
    'Tèxte amb traucs': 'Cloze',
    'Zapora podatka': 'Cloze',
    'Základní': 'Basic',
    'Základní (napsat odpověď)': 'Basic (type in the answer)',
    'Základní (plus obrácená karta)': 'Basic (and reversed card)',
    'Základní (plus volitelná obrácená karta)': 'Basic (optional reversed card)',
    'Základný': 'Basic',
    'Základný (plus obrátená karta)': 'Basic (and reversed card)',
    'Základný (plus voliteľná obrátená karta)': 'Basic (optional reversed card)',
    'hutsuneak betetzea': 'Cloze',
    'mipri cipra': 'Cloze',
    'sampu': 'Basic',
    "sampu je cu nitcu lo nu do samci'a lo te spuda": 'Basic (type in the answer)',
    'Điền chỗ trống': 'Cloze',
    'Βασική (και αντεστραμμένη κάρτα)': 'Basic (and reversed card)',
    "Βασική (κατ'επιλογή αντεστραμμένη κάρτα)": 'Basic (optional reversed card)',
    'Βασικό': 'Basic',
    'Κλείσιμο': 'Cloze',
    'Базавая': 'Basic',
    'Базавая (з адваротнай карткай)': 'Basic (and reversed card)',
    'Базавая (з неабавязковай адваротнай карткай)': 'Basic (optional reversed card)',
    'Базавая (напісанне адказу)': 'Basic (type in the answer)',
    'Базовий': 'Basic',
    'Базовий (з вдрукуванням відповіді)': 'Basic (type in the answer)',
    "Базовий (з необов'язковою зворотною карткою)": 'Basic (optional reversed card)',
    'Базовий (зі зворотною карткою)': 'Basic (and reversed card)',
    'З прабеламі': 'Cloze',
    'Задание с пропусками': 'Cloze',
    'Закритий текст': 'Cloze',
    'Основен': 'Basic',
    'Основна (+ обърната карта по избор)': 'Basic (optional reversed card)',
    'Основна (и обратне карте)': 'Basic (and reversed card)',
    'Основна (и обърната карта)': 'Basic (and reversed card)',
    'Основна (обратне по избору)': 'Basic (optional reversed card)',
    'Основно': 'Basic',
    'Пропусти': 'Cloze',
    'Простая': 'Basic',
    'Простая (с вводом ответа)': 'Basic (type in the answer)',
    'Простая (с обратной карточкой)': 'Basic (and reversed card)',
    'Простая (с обратной по выбору)': 'Basic (optional reversed card)',
    'Саңылау толтыру': 'Cloze',
    'Қарапайым': 'Basic',
    'Қарапайым (жауапты теру)': 'Basic (type in the answer)',
    'Қарапайым (және кері карта)': 'Basic (and reversed card)',
    'Қарапайым (қосымша кері карта)': 'Basic (optional reversed card)',
    'Үндсэн': 'Basic',
    'Բացթողումներ': 'Cloze',
    'Հիմնական': 'Basic',
    'Հիմնական (+ հետադարձ քարտերը)': 'Basic (and reversed card)',
    'Հիմնական (հետադարձը ըստ ընտրության)': 'Basic (optional reversed card)',
    'Հիմնական (մուտքագրեք պատասխանը)': 'Basic (type in the answer)',
    'בסיסי': 'Basic',
    'בסיסי (הקלד את התשובה)': 'Basic (type in the answer)',
    'בסיסי (וכרטיס הופכי)': 'Basic (and reversed card)',
    'בסיסי (כרטיס הופכי אופציונלי)': 'Basic (optional reversed card)',
    'השלם את החסר': 'Cloze',
    'עיקרדיק': 'Basic',
    'עיקרדיק (אַרײַנקלאַפּן די ענטפֿער)': 'Basic (type in the answer)',
    'עיקרדיק (און פֿאַרקערט קאַרטל)': 'Basic (and reversed card)',
    'עיקרדיק (ברירהדיק פֿאַרקערט קאַרטל)': 'Basic (optional reversed card)',
    'שפּאַלט': 'Cloze',
    'أساسي': 'Basic',
    'أساسي (مع كتابة الجواب)': 'Basic (type in the answer)',
    'أساسي (وبطاقة معكوسة اختيارية)': 'Basic (optional reversed card)',
    'أساسي (وبطاقة معكوسة)': 'Basic (and reversed card)',
    'ئاساسى': 'Basic',
    'ئاساسى (ئۆرۈلىدىغان كارتا)': 'Basic (and reversed card)',
    'ئاساسى (تاللاشچان ئۆرۈلىدىغان كارتا)': 'Basic (optional reversed card)',
    'ئاساسىي (جاۋاب كىرگۈزىدىغان)': 'Basic (type in the answer)',
    'بوش ئورۇن تولدۇرۇش': 'Cloze',
    'ملء فراغات': 'Cloze',
    'କ୍ଲୋଜ୍': 'Cloze',
    'ମୌଳିକ': 'Basic',
    'ମୌଳିକ (ଉତ୍ତର ଟାଇପ୍ କରନ୍ତୁ)': 'Basic (type in the answer)',
    'ମୌଳିକ (ଏବଂ ଓଲଟା ପତ୍ର)': 'Basic (and reversed card)',
    'ମୌଳିକ (ବୈକଲ୍ପିକ ଓଲଟା ପତ୍ର)': 'Basic (optional reversed card)',
    'พื้นฐาน': 'Basic',
    'พื้นฐาน (พิมพ์ตอบ)': 'Basic (type in the answer)',
    'พื้นฐาน (และการ์ดแบบกลับด้าน)': 'Basic (and reversed card)',
    'เติมคำ': 'Cloze',
    '克漏字': 'Cloze',
    '基本': 'Basic',
    '基本 (任意で反転カードを作成)': 'Basic (optional reversed card)',
    '基本 (表面と裏面を反転したカードも作成)': 'Basic (and reversed card)',
    '基本 (解答を入力)': 'Basic (type in the answer)',
    '基本型': 'Basic',
    '基本型（含反向卡片）': 'Basic (and reversed card)',
    '基本型（輸入答案）': 'Basic (type in the answer)',
    '基本型（選擇性反向卡片）': 'Basic (optional reversed card)',
    '填空题': 'Cloze',
    '穴埋め問題': 'Cloze',
    '问答题': 'Basic',
    '问答题（可选附翻转卡片）': 'Basic (optional reversed card)',
    '问答题（输入答案）': 'Basic (type in the answer)',
    '问答题（附翻转卡片）': 'Basic (and reversed card)',
    }
)  # fmt: skip


def from_anki() -> dict[str, str]:
    """The table, read from the installed ``anki`` package: for each of Anki's languages,
    the name it gives each stock note type where that is not the English one."""
    from anki._backend import RustBackend, Translations
    from anki.lang import langs

    names: dict[str, str] = {}
    for _, code in langs:
        if code in UNREADABLE:
            continue
        backend = RustBackend(langs=[code])
        tr = Translations(weakref.ref(backend))
        for english, name in (
            ("Basic", tr.notetypes_basic_name()),
            ("Basic (and reversed card)", tr.notetypes_basic_reversed_name()),
            ("Basic (optional reversed card)", tr.notetypes_basic_optional_reversed_name()),
            ("Basic (type in the answer)", tr.notetypes_basic_type_answer_name()),
            ("Cloze", tr.notetypes_cloze_name()),
        ):
            if name != english:
                names[name] = english
    return dict(sorted(names.items()))


if __name__ == "__main__":
    for name, english in from_anki().items():
        print(f"    {name!r}: {english!r},")
