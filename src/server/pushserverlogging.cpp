// SPDX-License-Identifier: MIT
#include "pushserverlogging_p.h"

Q_LOGGING_CATEGORY(lcPushServer, "qtpush.server", QtWarningMsg)
