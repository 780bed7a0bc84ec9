// SPDX-License-Identifier: MIT
#pragma once

// The real qtpush-server as a child process, for tests that restart, kill or refuse to start it
// (tests/store/). Blocking helpers with generous timeouts: every wait ends in a result the test
// checks, never in an assumption about how long something takes.

#include <QtCore/QByteArray>
#include <QtCore/QProcess>
#include <QtCore/QRegularExpression>
#include <QtCore/QStringList>

#include <csignal>

class ServerProcess
{
public:
    //! \a wrapper, if any, runs the server (e.g. setpriv to run it as another user).
    explicit ServerProcess(const QStringList &wrapper = {})
        : m_wrapper(wrapper.mid(1))
    {
        m_process.setProgram(wrapper.isEmpty() ? QStringLiteral(QTPUSH_SERVER_PROGRAM)
                                               : wrapper.first());
        if (!wrapper.isEmpty())
            m_wrapper.append(QStringLiteral(QTPUSH_SERVER_PROGRAM));
        // Quiet logs, so that the one line a refusal prints is easy to find and the pipe never
        // fills while a load runs.
        QProcessEnvironment environment = QProcessEnvironment::systemEnvironment();
        environment.insert(QStringLiteral("QT_LOGGING_RULES"), QStringLiteral("qtpush.*=false"));
        m_process.setProcessEnvironment(environment);
    }
    ~ServerProcess() { kill(); }

    //! Starts the server on a free loopback port with \a arguments and waits for its
    //! "listening on" line. False when it exited instead (see exitCode() and errorLine()).
    bool start(const QStringList &arguments)
    {
        m_errors.clear();
        port = 0;
        m_process.setArguments(m_wrapper
                               + QStringList{QStringLiteral("--port"), QStringLiteral("0")}
                               + arguments);
        m_process.start();
        if (!m_process.waitForStarted(30000))
            return false;
        static const QRegularExpression listening(
                QStringLiteral("^listening on http://127.0.0.1:(\\d+)"));
        while (!m_process.canReadLine()) {
            if (!m_process.waitForReadyRead(60000))
                break;
        }
        const QRegularExpressionMatch match
                = listening.match(QString::fromUtf8(m_process.readLine()));
        if (!match.hasMatch()) {
            m_process.waitForFinished(60000);
            m_errors += m_process.readAllStandardError();
            return false;
        }
        port = quint16(match.captured(1).toUInt());
        return true;
    }

    //! Runs the server with \a arguments until it exits by itself (a refusal at start) and
    //! returns its exit status; -1 if it was still running after 60 s (then it is killed).
    int runToExit(const QStringList &arguments)
    {
        if (start(arguments)) {
            kill();
            return -1;
        }
        return m_process.exitStatus() == QProcess::NormalExit ? m_process.exitCode() : -1;
    }

    //! SIGTERM, then waits for the exit; returns its status (-1: crashed or did not exit).
    int terminate()
    {
        if (m_process.state() == QProcess::NotRunning)
            return -1;
        m_process.terminate();
        if (!m_process.waitForFinished(60000)) {
            kill();
            return -1;
        }
        m_errors += m_process.readAllStandardError();
        return m_process.exitStatus() == QProcess::NormalExit ? m_process.exitCode() : -1;
    }

    //! SIGKILL: no chance to flush or answer anything more.
    void kill()
    {
        if (m_process.state() == QProcess::NotRunning)
            return;
        ::kill(pid_t(m_process.processId()), SIGKILL);
        m_process.waitForFinished(60000);
    }

    int exitCode() const { return m_process.exitCode(); }
    //! The server's one-line refusal ("qtpush-server: ..."), without the prefix.
    QString errorLine() const
    {
        const QList<QByteArray> lines = m_errors.split('\n');
        for (const QByteArray &line : lines) {
            if (line.startsWith("qtpush-server: "))
                return QString::fromUtf8(line.mid(15));
        }
        return {};
    }
    QByteArray errorOutput() const { return m_errors; }

    quint16 port = 0;

private:
    QStringList m_wrapper; // its arguments, then the server's path
    QProcess m_process;
    QByteArray m_errors;
};
