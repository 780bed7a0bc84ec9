// SPDX-License-Identifier: MIT
// qtpush-qmlsnippet: loads QML snippets of the docs (extracted by snippets.sh) with a real
// QQmlEngine and creates their root object, as an application would; exits non-zero when one
// does not load. Run offscreen (QT_QPA_PLATFORM=offscreen): no window is shown.
//
//   qtpush-qmlsnippet [--fragment] NAME=FILE ...
//
// A whole document (it starts with its imports) must load without an error or a warning. A
// fragment (--fragment: a few objects shown out of their document, wrapped by snippets.sh) must
// compile and create, but may refer to ids and properties of a document it is not in, so only
// errors count for it. NAME (README.md:111) is what messages name.
#include <QtCore/QFile>
#include <QtGui/QGuiApplication>
#include <QtQml/QQmlComponent>
#include <QtQml/QQmlEngine>

#include <cstdio>
#include <memory>

namespace {
bool load(QQmlEngine &engine, const QString &name, const QString &path, bool fragment)
{
    QList<QQmlError> warnings;
    const QMetaObject::Connection collecting = QObject::connect(
            &engine, &QQmlEngine::warnings, &engine,
            [&warnings](const QList<QQmlError> &more) { warnings.append(more); });
    QQmlComponent component(&engine, QUrl::fromLocalFile(path));
    std::unique_ptr<QObject> object(component.create());
    QObject::disconnect(collecting);
    QList<QQmlError> problems = component.errors();
    if (!fragment)
        problems.append(warnings);
    const bool ok = object && problems.isEmpty();
    object.reset();
    std::printf("%s %s (%s)\n", ok ? "ok -" : "not ok -", qUtf8Printable(name),
                fragment ? "QML fragment" : "QML document");
    for (const QQmlError &problem : std::as_const(problems)) {
        std::printf("    line %d of the snippet: %s\n", problem.line(),
                    qUtf8Printable(problem.description()));
    }
    if (!ok && problems.isEmpty())
        std::printf("    the component created no object\n");
    return ok;
}
} // namespace

int main(int argc, char *argv[])
{
    QGuiApplication app(argc, argv);
    QQmlEngine engine;
    engine.addImportPath(QStringLiteral(QTPUSH_QML_IMPORT_DIR)); // `import QtPush` of this build
    // Messages of the snippets' own code (console.log) are not checked; keep the output short.
    engine.setOutputWarningsToStandardError(false);
    bool fragment = false;
    int failed = 0;
    const QStringList arguments = QCoreApplication::arguments().mid(1);
    for (const QString &argument : arguments) {
        if (argument == QLatin1String("--fragment")) {
            fragment = true;
            continue;
        }
        const qsizetype equals = argument.indexOf(u'=');
        if (equals <= 0 || !QFile::exists(argument.mid(equals + 1))) {
            std::fprintf(stderr, "qtpush-qmlsnippet: expected NAME=FILE, not %s\n",
                         qUtf8Printable(argument));
            return 2;
        }
        if (!load(engine, argument.left(equals), argument.mid(equals + 1), fragment))
            ++failed;
        fragment = false;
    }
    return failed ? 1 : 0;
}
