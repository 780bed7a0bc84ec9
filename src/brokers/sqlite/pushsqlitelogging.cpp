// SPDX-License-Identifier: MIT
#include "pushsqlitelogging_p.h"

Q_LOGGING_CATEGORY(lcPushSqlite, "qtpush.broker.sqlite", QtWarningMsg)
