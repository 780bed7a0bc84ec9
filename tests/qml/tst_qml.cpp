// SPDX-License-Identifier: MIT
// Runs the Qt Quick Test files in this folder (tst_*.qml) against the QtPush QML module of the
// build tree, with `cpp`, a context property for the C++ side of each test.
#include <QtPush/pushclient.h>
#include <QtPush/pushregistry.h>
#include <QtPush/pushsession.h>

#include <QtCore/QJsonArray>
#include <QtCore/QJsonDocument>
#include <QtQml/QQmlContext>
#include <QtQml/QQmlEngine>
#include <QtQuickTest/quicktest.h>

//! What C++ code of an application does with the same registry: listens and pushes.
class CppSide : public QObject
{
    Q_OBJECT
public:
    //! A C++ client of \a session that records each message it receives, as JSON.
    Q_INVOKABLE void listen(const QString &session, const QString &client)
    {
        PushClient *target = PushRegistry::global()->session(session)->newClient(client);
        const QString key = session + u'/' + client;
        m_received[key].clear();
        connect(target, &PushClient::messageReceived, this,
                [this, key](const QVariant &message) { m_received[key].append(json(message)); });
    }
    Q_INVOKABLE QStringList received(const QString &session, const QString &client) const
    {
        return m_received.value(session + u'/' + client);
    }
    //! A message as C++ builds it: nested maps and lists of every JSON kind.
    Q_INVOKABLE double pushSample(const QString &session)
    {
        const QVariantMap sample{
                {QStringLiteral("text"), QStringLiteral("grüß dich")},
                {QStringLiteral("count"), 3},
                {QStringLiteral("ratio"), 0.5},
                {QStringLiteral("ok"), true},
                {QStringLiteral("nothing"), QVariant::fromValue(nullptr)},
                {QStringLiteral("list"),
                 QVariantList{1, QStringLiteral("two"), QVariantMap{{QStringLiteral("three"), 3}}}},
        };
        return double(PushRegistry::global()->session(session)->push(sample));
    }
    Q_INVOKABLE void deleteSession(const QString &session)
    {
        PushRegistry::global()->deleteSession(session);
    }
    Q_INVOKABLE bool clientExists(const QString &session, const QString &client) const
    {
        PushSession *target = PushRegistry::global()->findSession(session);
        return target && target->exists(client);
    }
    //! Takes one message of a client from C++, behind QML's back; false when none waited.
    Q_INVOKABLE bool pullFromCpp(const QString &session, const QString &client)
    {
        PushSession *target = PushRegistry::global()->findSession(session);
        PushClient *puller = target ? target->findClient(client) : nullptr;
        QVariant message;
        return puller && puller->tryPull(&message);
    }
    Q_INVOKABLE void closeFromCpp(const QString &session, const QString &client)
    {
        PushSession *target = PushRegistry::global()->findSession(session);
        if (PushClient *victim = target ? target->findClient(client) : nullptr)
            victim->close();
    }
    Q_INVOKABLE int maxBufferOf(const QString &session) const
    {
        PushSession *target = PushRegistry::global()->findSession(session);
        return target ? target->maxBuffer() : -1;
    }

private:
    static QString json(const QVariant &value)
    {
        const QByteArray array = QJsonDocument(QJsonArray{QJsonValue::fromVariant(value)})
                                         .toJson(QJsonDocument::Compact);
        return QString::fromUtf8(array.mid(1, array.size() - 2));
    }

    QHash<QString, QStringList> m_received;
};

class Setup : public QObject
{
    Q_OBJECT
public Q_SLOTS:
    void qmlEngineAvailable(QQmlEngine *engine)
    {
        engine->addImportPath(QStringLiteral(QTPUSH_QML_IMPORT_DIR));
        engine->rootContext()->setContextProperty(QStringLiteral("cpp"), &m_cpp);
    }

private:
    CppSide m_cpp;
};

QUICK_TEST_MAIN_WITH_SETUP(qtpush_qml, Setup)
#include "tst_qml.moc"
