// SPDX-License-Identifier: MIT
#pragma once

#include <QtCore/QObject>
#include <QtCore/QThread>

// A worker thread with a running event loop, and a way to run code in it and wait for it.
// Declare it before the PushRegistry under test: the registry is destroyed first and its
// clients' deleteLater() then runs in this still running thread as it finishes.
class WorkerThread
{
public:
    WorkerThread()
    {
        m_thread.start();
        m_context.moveToThread(&m_thread);
    }
    ~WorkerThread()
    {
        m_thread.quit();
        m_thread.wait();
    }
    template<typename Function>
    void run(Function function)
    {
        QMetaObject::invokeMethod(&m_context, function, Qt::BlockingQueuedConnection);
    }
    QThread *thread() { return &m_thread; }
    //! Lives in the worker: a context object for connections that must run there.
    QObject *context() { return &m_context; }

private:
    QThread m_thread;
    QObject m_context;
};
