// SPDX-License-Identifier: MIT
// The hand-written JSON of src/server/pushwire.cpp must be what QJsonDocument writes, byte for
// byte: outside clients parse it, and the server wrote it through QJsonDocument before.
#include "pushwire_p.h"

#include <QtCore/QJsonArray>
#include <QtCore/QJsonDocument>
#include <QtCore/QJsonObject>
#include <QtCore/QRandomGenerator>
#include <QtTest/QtTest>

#include <limits>

namespace {

QByteArray viaQt(const QJsonValue &value)
{
    const QByteArray wrapped = QJsonDocument(QJsonArray{value}).toJson(QJsonDocument::Compact);
    return wrapped.mid(1, wrapped.size() - 2);
}

} // namespace

class tst_PushWire : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void everyCodeUnitIsEscapedAsQtDoes();
    void stringsAsQtWritesThem_data();
    void stringsAsQtWritesThem();
    void numbersAsQtWritesThem();
    void adminSessionAsQtWritesIt();
};

void tst_PushWire::everyCodeUnitIsEscapedAsQtDoes()
{
    // Every UTF-16 code unit alone (lone surrogates included) and between two letters.
    for (uint unit = 0; unit <= 0xffff; ++unit) {
        const QString alone{QChar(char16_t(unit))};
        QCOMPARE(PushWire::jsonString(alone), viaQt(alone));
        const QString between = QLatin1Char('a') + alone + QLatin1Char('b');
        QCOMPARE(PushWire::jsonString(between), viaQt(between));
    }
}

void tst_PushWire::stringsAsQtWritesThem_data()
{
    QTest::addColumn<QString>("text");
    QTest::newRow("empty") << QString();
    QTest::newRow("plain") << QStringLiteral("user-42");
    QTest::newRow("quotes and backslashes") << QStringLiteral(R"(a"b\c\\"d)");
    QTest::newRow("controls") << QStringLiteral("\t\n\r\b\f\x01\x1f\x7f");
    QTest::newRow("non-ASCII") << QStringLiteral("Grüße, 世界, \U0001F600");
    QTest::newRow("NUL") << QString(QChar(u'\0'));
    QTest::newRow("slash") << QStringLiteral("a/b</script>");
    QTest::newRow("pair, then a lone high") << QString::fromUtf16(u"\xD83D\xDE00\xD83D");
    QTest::newRow("two highs, then a low") << QString::fromUtf16(u"\xD800\xD800\xDC00");
    QTest::newRow("low before high") << QString::fromUtf16(u"\xDC00\xD800x");
    QTest::newRow("largest code point") << QString::fromUtf16(u"\xDBFF\xDFFF");
}

void tst_PushWire::stringsAsQtWritesThem()
{
    QFETCH(QString, text);
    QCOMPARE(PushWire::jsonString(text), viaQt(text));
    QByteArray appended = "x";
    PushWire::appendJsonString(appended, text);
    QCOMPARE(appended, 'x' + viaQt(text));
}

void tst_PushWire::numbersAsQtWritesThem()
{
    const double values[] = {0.0, -0.0, 1.0, 0.1, 12.3, 1e-7, 123456789.0, 1e21, 1e300,
                             -2.5, 9007199254740993.0, std::numeric_limits<double>::infinity(),
                             std::numeric_limits<double>::quiet_NaN()};
    for (double value : values)
        QCOMPARE(PushWire::jsonNumber(value), viaQt(value));
    QRandomGenerator random(14);
    for (int i = 0; i < 10000; ++i) {
        const double rate = std::round(random.bounded(100000.0) * 10) / 10; // as the server rounds
        QCOMPARE(PushWire::jsonNumber(rate), viaQt(rate));
    }
}

void tst_PushWire::adminSessionAsQtWritesIt()
{
    const QString session = QStringLiteral("room \"7\"\n");
    const QJsonObject object{{QStringLiteral("session"), session},
                             {QStringLiteral("clients"), 3},
                             {QStringLiteral("pushed"), qint64(1234567890123)},
                             {QStringLiteral("rate"), 12.5}};
    QCOMPARE(PushWire::adminSessionJson(session, 3, 1234567890123, 12.5),
             QJsonDocument(object).toJson(QJsonDocument::Compact));
}

QTEST_APPLESS_MAIN(tst_PushWire)
#include "tst_pushwire.moc"
