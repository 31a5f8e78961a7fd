import type { Plugin } from '../../api/types';
import type { MessageKey } from '../../i18n/context';

/** The example addresses offered in the dialog, one per supported scheme. */
// The file:// example is the bundled artifact: the resolved path when it is
// a local file, else where the all-in-one image keeps it.
export function imageAddressExamples(
  plugin: Pick<Plugin, 'name' | 'path'>,
): { key: MessageKey; address: string }[] {
  const file = `${plugin.name}.so`;
  const bundled = plugin.path.startsWith('/') ? plugin.path : `/opt/gatehouse/plugins/${file}`;
  return [
    { key: 'plugins.exampleFile', address: `file://${bundled}` },
    {
      key: 'plugins.exampleHttps',
      address: `https://downloads.example.com/gatehouse/${file}#sha256=<64 hex digits>`,
    },
    { key: 'plugins.exampleOci', address: `oci://ghcr.io/example/gatehouse-${plugin.name}:1.0.0` },
  ];
}
