// SPDX-License-Identifier: MIT
#include "pushqmllogging_p.h"

Q_LOGGING_CATEGORY(lcPushQml, "qtpush.qml", QtWarningMsg)
