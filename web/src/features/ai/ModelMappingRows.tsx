import { ArrowRightOutlined, DeleteOutlined, PlusOutlined } from '@ant-design/icons';
import { Button, Flex, Form, Input } from 'antd';
import { useI18n } from '../../i18n/context';

/**
 * ModelMappingRows edits one model mapping (requested model → model sent)
 * as rows, inside the form list at `name`. `where` names the provider row
 * in the accessible labels ("Provider 2").
 */
export function ModelMappingRows({ name, where }: { name: (string | number)[]; where: string }) {
  const { t } = useI18n();
  return (
    <Form.List name={name}>
      {(fields, { add, remove }, { errors }) => (
        <Flex vertical gap={6}>
          {fields.map((field, i) => (
            <Flex key={field.key} gap={6} align="start">
              <Form.Item
                name={[field.name, 'from']}
                style={{ flex: 1, marginBottom: 0 }}
                rules={[
                  { required: true, whitespace: true, message: t('ai.routes.fromModelRequired') },
                ]}
              >
                <Input
                  aria-label={t('ai.routes.fromModelN', { n: i + 1, where })}
                  placeholder={t('ai.routes.fromModel')}
                  className="gh-mono"
                  autoComplete="off"
                  spellCheck={false}
                />
              </Form.Item>
              <ArrowRightOutlined style={{ marginTop: 9 }} />
              <Form.Item name={[field.name, 'to']} style={{ flex: 1, marginBottom: 0 }}>
                <Input
                  aria-label={t('ai.routes.toModelN', { n: i + 1, where })}
                  placeholder={t('ai.routes.toModel')}
                  className="gh-mono"
                  autoComplete="off"
                  spellCheck={false}
                />
              </Form.Item>
              <Button
                type="text"
                icon={<DeleteOutlined />}
                aria-label={t('ai.routes.removeMapping', { n: i + 1, where })}
                onClick={() => remove(field.name)}
              />
            </Flex>
          ))}
          <Form.ErrorList errors={errors} />
          <Button
            size="small"
            type="dashed"
            icon={<PlusOutlined />}
            onClick={() => add({ from: '', to: '' })}
            style={{ alignSelf: 'flex-start' }}
          >
            {t('ai.routes.addMapping')}
          </Button>
        </Flex>
      )}
    </Form.List>
  );
}
