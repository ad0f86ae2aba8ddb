#ifndef QUIK_ABI_H
#define QUIK_ABI_H

/*
 * Compile-time constants of the QuikApp plugin ABI.
 *
 * They are C macros on purpose: a Swift constant of a resilient library is
 * read at run time from whichever SDK is loaded, whereas a macro is copied
 * into the plugin when it is compiled. That is what lets a plugin tell the
 * host which SDK it was built against.
 */

/* Version of the C entry points (`quikapp_plugin_abi_version`, `quikapp_plugin_create`). */
#define QUIK_PLUGIN_ABI_VERSION 1

/*
 * Version of the SDK, packed as major * 10000 + minor * 100 + patch.
 * The major number changes only with a change that breaks built plugins.
 */
#define QUIK_SDK_VERSION 10500

#endif
