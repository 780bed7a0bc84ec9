// SPDX-License-Identifier: MIT
#pragma once

// Internal: the server's settings, as PushServer's setters leave them. Not installed.

#include <QtCore/QByteArray>
#include <QtCore/QtGlobal>

/*!
    What PushServer's setters set, read by every part of the server (docs/server.md: Options).
    The parts hold a const reference to the one instance in PushServerPrivate, so a setting
    changed while running applies from the next use on. Not thread-safe: the server's thread.
*/
struct PushServerSettings
{
    QByteArray secret;
    bool allowInsecureRemote = false;
    qint64 maxMessageBytes = 64 * 1024;
    int maxConnections = 0;
    int maxClientsPerSession = 0;
    double pushRateLimit = 0;
    int clientGracePeriodMs = 60 * 1000;
    int pingIntervalMs = 30 * 1000;
    int clientBuffer = 256;
    int retainedMessages = 1024;
    int retentionPeriodMs = 300 * 1000;
    qint64 clientBufferBytes = 4 * 1024 * 1024;
    qint64 maxRetainedBytes = 256 * 1024 * 1024;
    int maxSessions = 100000;
};
